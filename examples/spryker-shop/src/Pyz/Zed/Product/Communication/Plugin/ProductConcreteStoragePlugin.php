<?php

namespace Pyz\Zed\Product\Communication\Plugin;

use Spryker\Zed\Kernel\Communication\AbstractPlugin;

class ProductConcreteStoragePlugin extends AbstractPlugin
{
}
