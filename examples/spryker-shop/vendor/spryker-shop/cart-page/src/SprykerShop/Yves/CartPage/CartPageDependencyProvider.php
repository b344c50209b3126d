<?php

namespace SprykerShop\Yves\CartPage;

use Spryker\Yves\Kernel\Container;

class CartPageDependencyProvider
{
    public function provideDependencies(Container $container): Container
    {
        return $container;
    }

    /**
     * @return array<string, array<string>>
     */
    protected function getCartItemTransformerPlugins(): array
    {
        return [];
    }
}
