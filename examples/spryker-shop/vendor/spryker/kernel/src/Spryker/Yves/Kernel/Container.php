<?php

namespace Spryker\Yves\Kernel;

class Container extends \Spryker\Zed\Kernel\Container
{
}
