<?php

namespace Pyz\Zed\Product;

use Spryker\Zed\Product\ProductConfig as SprykerProductConfig;

class ProductConfig extends SprykerProductConfig
{
    /**
     * @return array<string>
     */
    public function getStoreNames(): array
    {
        return ['DE', 'AT'];
    }
}
