<?php

namespace Spryker\Zed\Product;

class ProductConfig
{
}
