<?php

namespace Pyz\Zed\Product\Business\Reader;

use Spryker\Zed\Product\Business\Reader\ProductReader as SprykerProductReader;

class ProductReader extends SprykerProductReader
{
    public function findProductSkus(array $ids): array
    {
        return array_map(fn (int $id): string => 'sku-' . $id, $ids);
    }
}
