<?php

namespace Spryker\Zed\Kernel;

abstract class AbstractBundleDependencyProvider
{
    public function provideBusinessLayerDependencies(Container $container): Container
    {
        return $container;
    }

    public function provideCommunicationLayerDependencies(Container $container): Container
    {
        return $container;
    }
}
