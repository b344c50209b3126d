<?php

namespace Spryker\Zed\Product\Business\Reader;

/**
 * Private API: may change in any minor release.
 */
class ProductReader
{
    /**
     * @deprecated Use {@link \Spryker\Zed\Product\Business\ProductFacade::getProductConcreteSkus()} instead.
     */
    public function findProductSkus(array $ids): array
    {
        return [];
    }
}
