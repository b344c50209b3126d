<?php

namespace Pyz\Yves\CartPage;

use Spryker\Yves\Kernel\Container;
use SprykerShop\Yves\CartPage\CartPageDependencyProvider as SprykerShopCartPageDependencyProvider;

class CartPageDependencyProvider extends SprykerShopCartPageDependencyProvider
{
    /**
     * @return array<string, array<string, array<string>>>
     */
    protected function getCartItemTransformerPlugins(): array
    {
        return [
            'default' => [
                'bundle' => [
                    'ProductBundleCartItemTransformer',
                ],
            ],
        ];
    }

    public function provideDependencies(Container $container): Container
    {
        $container = parent::provideDependencies($container);

        if (class_exists('\SprykerShop\Yves\CartPage\Plugin\CartPageWidgetPlugin')) {
            $container = $this->addWidgets($container);
        }

        return $container;
    }

    protected function addWidgets(Container $container): Container
    {
        return $container;
    }
}
