<?php

namespace Pyz\Zed\Product\Communication\Plugin;

use Spryker\Zed\Kernel\Communication\AbstractPlugin;

class ProductAbstractStorePlugin extends AbstractPlugin
{
    /**
     * @param array<string> $storeNames
     */
    public function __construct(protected array $storeNames = [])
    {
    }
}
