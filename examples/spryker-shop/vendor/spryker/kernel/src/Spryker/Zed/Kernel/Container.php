<?php

namespace Spryker\Zed\Kernel;

class Container
{
    /** @var array<string, mixed> */
    protected array $services = [];

    public function set(string $id, callable $service): void
    {
        $this->services[$id] = $service;
    }

    public function has(string $id): bool
    {
        return isset($this->services[$id]);
    }
}
