<?php

namespace Spryker\Zed\Product;

use Spryker\Zed\Kernel\AbstractBundleDependencyProvider;
use Spryker\Zed\Kernel\Container;

class ProductDependencyProvider extends AbstractBundleDependencyProvider
{
    public const PLUGINS_PRODUCT_ABSTRACT_AFTER_CREATE = 'PLUGINS_PRODUCT_ABSTRACT_AFTER_CREATE';

    public function provideBusinessLayerDependencies(Container $container): Container
    {
        $container->set(static::PLUGINS_PRODUCT_ABSTRACT_AFTER_CREATE, function (Container $container) {
            return $this->getProductAbstractPluginsAfterCreate();
        });

        return $container;
    }

    /**
     * @return array<\Spryker\Zed\ProductExtension\Dependency\Plugin\ProductAbstractPluginCreateInterface>
     */
    protected function getProductAbstractPluginsAfterCreate(): array
    {
        return [];
    }
}
