<?php

/**
 * This file is part of the Spryker Commerce OS.
 */

namespace Pyz\Zed\Product;

use Pyz\Zed\Product\Communication\Plugin\ProductAbstractStorePlugin;
use Pyz\Zed\Product\Communication\Plugin\ProductConcreteStoragePlugin;
use Spryker\Zed\Kernel\Container;
use Spryker\Zed\Product\ProductDependencyProvider as SprykerProductDependencyProvider;

/**
 * @method \Pyz\Zed\Product\ProductConfig getConfig()
 */
class ProductDependencyProvider extends SprykerProductDependencyProvider
{
    public const PYZ_PLUGINS_PRODUCT_LABELS = 'PYZ_PLUGINS_PRODUCT_LABELS';

    /**
     * @param \Spryker\Zed\Kernel\Container $container
     *
     * @return \Spryker\Zed\Kernel\Container
     */
    public function provideBusinessLayerDependencies(Container $container): Container
    {
        $container = parent::provideBusinessLayerDependencies($container);

        if ($container->has('store') && date('N') > 5) {
            $container = $this->addWeekendPlugins($container);
        }

        $container->set(static::PYZ_PLUGINS_PRODUCT_LABELS, function (Container $container) {
            return [
                'default' => new ProductAbstractStorePlugin(),
            ];
        });

        return $container;
    }

    /**
     * @return array<\Spryker\Zed\ProductExtension\Dependency\Plugin\ProductAbstractPluginCreateInterface>
     */
    protected function getProductAbstractPluginsAfterCreate(): array
    {
        return [
            /**
             * Restrictions:
             * - after {@link \Pyz\Zed\Product\Communication\Plugin\ProductAbstractStorePlugin} reads the stores.
             * - runs before the storage plugin of the Store module
             */
            new ProductConcreteStoragePlugin(),
            new ProductAbstractStorePlugin($this->getConfig()->getStoreNames()),
        ];
    }

    protected function addWeekendPlugins(Container $container): Container
    {
        return $container;
    }
}
