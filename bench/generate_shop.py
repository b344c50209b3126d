#!/usr/bin/env python3
"""Write a deterministic synthetic Spryker shop for the gate benchmark.

The shop has the shape the quality gate reads (see /work/shared/specs/quality-gate.md, "What the
project looks like"): project code under src/Pyz, core code under vendor/spryker*, transfer and
schema XML, composer.json/lock, config/Shared/config_default.php and a deploy file. Class shapes
follow real Spryker modules (facades, factories, dependency providers with plugin stacks, business
models with real bodies) so that parsing and indexing cost about what a real shop costs.

About 1 in 50 project files carries a pattern one of the gate's rules reports, so the report is not
empty; the counts are written to bench-manifest.json in the shop.

Usage:
    python3 bench/generate_shop.py --out bench/out/shop [--project-files 2000] [--core-files 30000] [--seed 1]

Standard library only (Python 3.11). The same arguments always produce byte-identical output.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import re
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

# --------------------------------------------------------------------------------------------------
# Vocabulary. Module names are built from these words the way Spryker names them
# (ProductOption, ProductOptionStorage, SalesReturnsRestApi, ...).

WORDS = [
    "Product", "Price", "Stock", "Sales", "Customer", "Cart", "Checkout", "Discount", "Merchant",
    "Category", "Cms", "Content", "Glossary", "Locale", "Store", "Currency", "Tax", "Shipment",
    "Payment", "Oms", "Quote", "Availability", "Url", "Navigation", "Company", "Business", "Unit",
    "Role", "Permission", "Acl", "User", "Oauth", "Event", "Queue", "Label", "Image", "Option",
    "Bundle", "Configuration", "Offer", "Relation", "Review", "Set", "List", "Measurement",
    "Packaging", "Alternative", "Discontinued", "Comment", "Approval", "Budget", "Return",
    "Invoice", "Refund", "Gift", "Card", "Voucher", "Order", "Threshold", "Country", "Region",
    "Translation", "Attribute", "Group", "Schedule", "Page", "Block", "Slot", "Template", "Asset",
    "Warehouse", "Picking", "Service", "Point", "Shopping", "Wishlist", "Note", "Agent", "Quick",
    "Reclamation", "Document", "Search", "Suggestion", "Rule", "Expense", "Amount", "Volume",
]

# Suffixes of satellite modules (ProductStorage, ProductGui, ...); "" is the base module.
MODULE_SUFFIXES = ["", "", "", "Storage", "Search", "Gui", "DataImport", "RestApi", "Connector"]

ENTITY_SUFFIXES = ["Item", "Value", "Group", "Relation", "Type", "Attribute", "Collection", "Rule"]

# Business model roles; the gate treats all of them as private API.
ROLES = ["Reader", "Writer", "Mapper", "Validator", "Expander", "Deleter", "Hydrator", "Checker",
         "Updater", "Creator", "Resolver", "Filter"]

# Plugin stack kinds: each gives an extension interface with one method of a fixed shape.
STACK_KINDS = ["Expander", "PreSave", "PostSave", "Validator", "Filter", "PreCheck", "Mapper"]

FIELDS = ["name", "key", "sku", "status", "position", "description", "amount", "quantity",
          "reference", "priority", "code", "title", "type", "value", "locale", "store"]

SHOP_PAGE_WORDS = ["Home", "Catalog", "ProductDetail", "Cart", "Checkout", "Customer",
                   "Wishlist", "ShoppingList", "QuickOrder", "Company", "Cms", "Error",
                   "Newsletter", "Price", "ProductReview", "SalesOrder", "MerchantProfile",
                   "Agent", "Quote", "Payment", "Shipment", "Availability", "Currency", "Language",
                   "ProductSet", "ProductBundle", "Discount", "Comment", "Returns", "Search"]

ECO_WORDS = ["Payone", "Adyen", "Computop", "Heidelpay", "Unzer", "Ratepay", "Easycredit",
             "Braintree", "Akeneo", "Loggly", "NewRelic", "Econda", "Punchout", "Minubo"]

HEADER = (
    "<?php\n\n"
    "/**\n"
    " * Synthetic code written by bench/generate_shop.py for the Upkeep gate benchmark.\n"
    " * It has the shape of a Spryker module; it does not run.\n"
    " */\n\n"
)


# --------------------------------------------------------------------------------------------------
# Name helpers.

def lc_first(name: str) -> str:
    return name[:1].lower() + name[1:]


def snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def kebab(name: str) -> str:
    return snake(name).replace("_", "-")


def upper_snake(name: str) -> str:
    return snake(name).upper()


def short(fqcn: str) -> str:
    return fqcn.rsplit("\\", 1)[-1]


def php_file(namespace: str, uses: set[str] | list[str], body: str) -> str:
    """A PHP file: header, namespace, sorted imports (`A as B` allowed), body.

    Imports the body never names are dropped, so templates may offer more than they use and the
    output still has no unused imports (real Spryker code has none; linters would flag them).
    """
    lines = sorted((u for u in set(uses) if names_in(body, short(u.split(" as ")[-1]))), key=str.lower)
    imports = "".join(f"use {u};\n" for u in lines)
    return f"{HEADER}namespace {namespace};\n\n{imports}{chr(10) if imports else ''}{body.rstrip()}\n"


def names_in(body: str, name: str) -> bool:
    """Whether code names `name` unqualified (a `\\Fully\\Qualified\\Name` in a doc-block does not count)."""
    return re.search(rf"(?<![\\\w$]){re.escape(name)}\b", body) is not None


def indent(text: str, level: int) -> str:
    pad = "    " * level
    return "\n".join(pad + line if line.strip() else "" for line in text.splitlines())


# --------------------------------------------------------------------------------------------------
# The core model: modules, their entities and their plugin stacks. Files are rendered from it.

@dataclass
class Stack:
    """A plugin stack a core dependency provider offers (`PLUGINS_X`, `getXPlugins()`)."""

    module: "CoreModule"
    entity: str
    kind: str
    providers: list["Plugin"] = field(default_factory=list)

    @property
    def name(self) -> str:
        return f"{self.entity}{self.kind}"

    @property
    def constant(self) -> str:
        return f"PLUGINS_{upper_snake(self.name)}"

    @property
    def getter(self) -> str:
        return f"get{self.name}Plugins"

    @property
    def interface(self) -> str:
        m = self.module
        return f"{m.namespace}\\Zed\\{m.name}Extension\\Dependency\\Plugin\\{self.name}PluginInterface"


@dataclass
class Plugin:
    """A core plugin class some module provides for another module's stack."""

    owner: "CoreModule"
    stack: Stack
    fqcn: str


@dataclass
class CoreModule:
    vendor: str  # composer vendor: spryker, spryker-shop, spryker-eco
    namespace: str  # Spryker, SprykerShop, SprykerEco
    name: str
    entities: list[str]
    version: str
    has_client: bool = False
    stacks: list[Stack] = field(default_factory=list)
    plugins: list[Plugin] = field(default_factory=list)
    facade_deps: list[str] = field(default_factory=list)  # module names it uses via bridges
    roles: dict[str, list[str]] = field(default_factory=dict)  # entity -> business model roles
    deprecated_methods: set[str] = field(default_factory=set)
    emitted: bool = False  # set once all its files fit in the file budget

    @property
    def package(self) -> str:
        return f"{self.vendor}/{kebab(self.name)}"

    @property
    def zed(self) -> str:
        return f"{self.namespace}\\Zed\\{self.name}"

    def src(self, layer: str) -> str:
        return f"vendor/{self.vendor}/{kebab(self.name)}/src/{self.namespace}/{layer}/{self.name}"


def can_import(uses: set[str], fqcn: str) -> bool:
    """False when another import already takes this short name (PHP refuses two `use` of one name)."""
    taken = {short(u.split(" as ")[-1]) for u in uses if u != fqcn}
    return short(fqcn) not in taken


def ns_path(fqcn: str, root: str, root_ns: str) -> str:
    """Path of a class under a PSR-4 root (`root` maps to namespace prefix `root_ns`)."""
    rel = fqcn[len(root_ns) + 1:].replace("\\", "/")
    return f"{root}/{rel}.php"


class Shop:
    """Collects files and counts; the one place that writes to disk."""

    def __init__(self, out: Path) -> None:
        self.out = out
        self.files: dict[str, str] = {}

    def add(self, path: str, content: str) -> None:
        self.files[path] = content

    def write(self) -> None:
        for path in sorted(self.files):
            target = self.out / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(self.files[path], encoding="utf-8")


# --------------------------------------------------------------------------------------------------
# Method bodies. Each returns a method (docblock + code) for a business model working on `entity`.

def method_get_by_id(entity: str) -> tuple[str, set[str]]:
    e = lc_first(entity)
    return (f"""
/**
 * @param int $id{entity}
 *
 * @return \\Generated\\Shared\\Transfer\\{entity}Transfer|null
 */
public function find{entity}ById(int $id{entity}): ?{entity}Transfer
{{
    if ($id{entity} <= 0) {{
        return null;
    }}

    ${e}Transfer = $this->repository->find{entity}ById($id{entity});
    if (${e}Transfer === null) {{
        return null;
    }}

    return $this->expand{entity}(${e}Transfer);
}}
""", {f"Generated\\Shared\\Transfer\\{entity}Transfer"})


def method_collection(entity: str) -> tuple[str, set[str]]:
    e = lc_first(entity)
    return (f"""
/**
 * @param \\Generated\\Shared\\Transfer\\{entity}CriteriaTransfer ${e}CriteriaTransfer
 *
 * @return \\Generated\\Shared\\Transfer\\{entity}CollectionTransfer
 */
public function get{entity}Collection({entity}CriteriaTransfer ${e}CriteriaTransfer): {entity}CollectionTransfer
{{
    ${e}CollectionTransfer = new {entity}CollectionTransfer();
    ${e}Transfers = $this->repository->get{entity}Transfers(${e}CriteriaTransfer);

    foreach (${e}Transfers as $index => ${e}Transfer) {{
        if (!${e}Transfer->getIsActive() && !${e}CriteriaTransfer->getWithInactive()) {{
            continue;
        }}

        ${e}CollectionTransfer->add{entity}($this->expand{entity}(${e}Transfer));
    }}

    return ${e}CollectionTransfer;
}}
""", {f"Generated\\Shared\\Transfer\\{entity}CriteriaTransfer",
      f"Generated\\Shared\\Transfer\\{entity}CollectionTransfer"})


def method_expand(entity: str) -> tuple[str, set[str]]:
    e = lc_first(entity)
    return (f"""
/**
 * @param \\Generated\\Shared\\Transfer\\{entity}Transfer ${e}Transfer
 *
 * @return \\Generated\\Shared\\Transfer\\{entity}Transfer
 */
protected function expand{entity}({entity}Transfer ${e}Transfer): {entity}Transfer
{{
    foreach ($this->{e}ExpanderPlugins as ${e}ExpanderPlugin) {{
        ${e}Transfer = ${e}ExpanderPlugin->expand(${e}Transfer);
    }}

    return ${e}Transfer;
}}
""", {f"Generated\\Shared\\Transfer\\{entity}Transfer"})


def method_index_by_id(entity: str) -> tuple[str, set[str]]:
    e = lc_first(entity)
    return (f"""
/**
 * @param array<\\Generated\\Shared\\Transfer\\{entity}Transfer> ${e}Transfers
 *
 * @return array<int, \\Generated\\Shared\\Transfer\\{entity}Transfer>
 */
protected function index{entity}TransfersById(array ${e}Transfers): array
{{
    $indexed{entity}Transfers = [];
    foreach (${e}Transfers as ${e}Transfer) {{
        $indexed{entity}Transfers[${e}Transfer->getId{entity}OrFail()] = ${e}Transfer;
    }}

    return $indexed{entity}Transfers;
}}
""", set())


def method_extract_ids(entity: str) -> tuple[str, set[str]]:
    e = lc_first(entity)
    return (f"""
/**
 * @param array<\\Generated\\Shared\\Transfer\\{entity}Transfer> ${e}Transfers
 *
 * @return array<int>
 */
protected function extract{entity}Ids(array ${e}Transfers): array
{{
    return array_values(array_unique(array_map(
        static fn ({entity}Transfer ${e}Transfer): int => ${e}Transfer->getId{entity}OrFail(),
        ${e}Transfers,
    )));
}}
""", {f"Generated\\Shared\\Transfer\\{entity}Transfer"})


def method_validate(entity: str, fields: list[str]) -> tuple[str, set[str]]:
    e = lc_first(entity)
    required = ", ".join(f"'{f}'" for f in fields)
    return (f"""
/**
 * @var array<string>
 */
protected const REQUIRED_FIELDS = [{required}];

/**
 * @var string
 */
protected const ERROR_MESSAGE_FIELD_MISSING = '{snake(entity).replace("_", ".")}.validation.field_missing';

/**
 * @param \\Generated\\Shared\\Transfer\\{entity}Transfer ${e}Transfer
 *
 * @return \\Generated\\Shared\\Transfer\\ErrorCollectionTransfer
 */
public function validate({entity}Transfer ${e}Transfer): ErrorCollectionTransfer
{{
    $errorCollectionTransfer = new ErrorCollectionTransfer();
    $data = ${e}Transfer->toArray(false, true);

    foreach (static::REQUIRED_FIELDS as $fieldName) {{
        if (isset($data[$fieldName]) && $data[$fieldName] !== '') {{
            continue;
        }}

        $errorCollectionTransfer->addError(
            (new ErrorTransfer())
                ->setMessage(static::ERROR_MESSAGE_FIELD_MISSING)
                ->setParameters(['%field%' => $fieldName]),
        );
    }}

    if (strlen((string)${e}Transfer->getName()) > $this->config->getMaxNameLength()) {{
        $errorCollectionTransfer->addError((new ErrorTransfer())->setMessage('{snake(entity)}.name.too_long'));
    }}

    return $errorCollectionTransfer;
}}
""", {f"Generated\\Shared\\Transfer\\{entity}Transfer", "Generated\\Shared\\Transfer\\ErrorCollectionTransfer",
      "Generated\\Shared\\Transfer\\ErrorTransfer"})


def method_write(entity: str) -> tuple[str, set[str]]:
    e = lc_first(entity)
    return (f"""
/**
 * @param \\Generated\\Shared\\Transfer\\{entity}Transfer ${e}Transfer
 *
 * @return \\Generated\\Shared\\Transfer\\{entity}Transfer
 */
public function save{entity}({entity}Transfer ${e}Transfer): {entity}Transfer
{{
    return $this->getTransactionHandler()->handleTransaction(function () use (${e}Transfer): {entity}Transfer {{
        return $this->executeSave{entity}Transaction(${e}Transfer);
    }});
}}

/**
 * @param \\Generated\\Shared\\Transfer\\{entity}Transfer ${e}Transfer
 *
 * @return \\Generated\\Shared\\Transfer\\{entity}Transfer
 */
protected function executeSave{entity}Transaction({entity}Transfer ${e}Transfer): {entity}Transfer
{{
    foreach ($this->{e}PreSavePlugins as $preSavePlugin) {{
        ${e}Transfer = $preSavePlugin->preSave(${e}Transfer);
    }}

    if (${e}Transfer->getId{entity}() === null) {{
        ${e}Transfer = $this->entityManager->create{entity}(${e}Transfer);
    }} else {{
        ${e}Transfer = $this->entityManager->update{entity}(${e}Transfer);
    }}

    $this->eventFacade->trigger('Entity.spy_{snake(entity)}.save', ${e}Transfer);

    return ${e}Transfer;
}}
""", {f"Generated\\Shared\\Transfer\\{entity}Transfer"})


def method_delete(entity: str) -> tuple[str, set[str]]:
    e = lc_first(entity)
    return (f"""
/**
 * @param array<int> ${e}Ids
 *
 * @return int
 */
public function delete{entity}sByIds(array ${e}Ids): int
{{
    $deletedCount = 0;
    $batches = array_chunk(${e}Ids, $this->config->getWriteBatchSize());

    foreach ($batches as $batch) {{
        $existingIds = $this->repository->findExisting{entity}Ids($batch);
        if ($existingIds === []) {{
            continue;
        }}

        $this->entityManager->delete{entity}sByIds($existingIds);
        $deletedCount += count($existingIds);
    }}

    return $deletedCount;
}}
""", set())


def method_map(entity: str, fields: list[str]) -> tuple[str, set[str]]:
    e = lc_first(entity)
    setters = "\n".join(
        f"        ->set{f[:1].upper() + f[1:]}(${e}Data['{snake(f)}'] ?? null)" for f in fields)
    return (f"""
/**
 * @param array<string, mixed> ${e}Data
 * @param \\Generated\\Shared\\Transfer\\{entity}Transfer ${e}Transfer
 *
 * @return \\Generated\\Shared\\Transfer\\{entity}Transfer
 */
public function map{entity}DataTo{entity}Transfer(array ${e}Data, {entity}Transfer ${e}Transfer): {entity}Transfer
{{
    ${e}Transfer = ${e}Transfer->fromArray(${e}Data, true);

    return ${e}Transfer
        ->setId{entity}((int)${e}Data['id_{snake(entity)}'])
{setters};
}}
""", {f"Generated\\Shared\\Transfer\\{entity}Transfer"})


def method_resolve(entity: str) -> tuple[str, set[str]]:
    e = lc_first(entity)
    return (f"""
/**
 * @param \\Generated\\Shared\\Transfer\\{entity}Transfer ${e}Transfer
 *
 * @return string
 */
public function resolve{entity}Status({entity}Transfer ${e}Transfer): string
{{
    $status = match (true) {{
        ${e}Transfer->getIsActive() === false => 'inactive',
        ${e}Transfer->getValidTo() !== null && ${e}Transfer->getValidTo() < date('Y-m-d') => 'expired',
        default => 'active',
    }};

    return $this->config->getStatusMap()[$status] ?? $status;
}}
""", {f"Generated\\Shared\\Transfer\\{entity}Transfer"})


ROLE_METHODS = {
    "Reader": [method_get_by_id, method_collection, method_expand, method_index_by_id],
    "Writer": [method_write, method_extract_ids],
    "Mapper": ["map"],
    "Validator": ["validate"],
    "Expander": [method_collection, method_expand, method_extract_ids],
    "Deleter": [method_delete, method_extract_ids],
    "Hydrator": ["map", method_index_by_id],
    "Checker": [method_resolve, method_get_by_id, method_expand],
    "Updater": [method_write, method_index_by_id],
    "Creator": [method_write, method_extract_ids],
    "Resolver": [method_resolve, method_index_by_id],
    "Filter": [method_collection, method_expand],
}


def role_methods(role: str, entity: str, fields: list[str]) -> tuple[str, set[str]]:
    parts, uses = [], set()
    for spec in ROLE_METHODS[role]:
        if spec == "map":
            text, u = method_map(entity, fields)
        elif spec == "validate":
            text, u = method_validate(entity, fields)
        else:
            text, u = spec(entity)
        parts.append(text.strip("\n"))
        uses |= u
    return "\n\n".join(parts), uses


# --------------------------------------------------------------------------------------------------
# Core module rendering.

class CoreWriter:
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def module_files(self, m: CoreModule) -> list[tuple[str, str]]:
        """All files of one core package, business models last so a budget cut drops them first."""
        files: list[tuple[str, str]] = []
        files += self.zed_kernel_files(m)
        files += self.persistence_files(m)
        files += self.communication_files(m)
        files += self.bridge_files(m)
        files += self.shared_files(m)
        if m.has_client:
            files += self.client_files(m)
        files += self.business_model_files(m)
        return files

    # -- Zed kernel classes ------------------------------------------------------------------

    def zed_kernel_files(self, m: CoreModule) -> list[tuple[str, str]]:
        name, root = m.name, m.src("Zed")
        out = []
        out.append((f"{root}/{name}DependencyProvider.php", self.dependency_provider(m)))
        out.append((f"{root}/{name}Config.php", self.config(m)))
        out.append((f"{root}/Business/{name}Facade.php", self.facade(m)))
        out.append((f"{root}/Business/{name}FacadeInterface.php", self.facade_interface(m)))
        out.append((f"{root}/Business/{name}BusinessFactory.php", self.business_factory(m)))
        return out

    def facade_methods(self, m: CoreModule) -> list[tuple[str, str, str, str, str]]:
        """(name, params, return, factory method, model call) per facade method."""
        methods = []
        for entity in m.entities:
            e = lc_first(entity)
            for role in m.roles[entity]:
                create = f"create{entity}{role}"
                if role in ("Reader", "Checker"):
                    methods.append((f"find{entity}ById", f"int $id{entity}", f"?{entity}Transfer",
                                    create, f"find{entity}ById($id{entity})"))
                elif role in ("Writer", "Updater", "Creator"):
                    verb = {"Writer": "save", "Updater": "update", "Creator": "create"}[role]
                    methods.append((f"{verb}{entity}", f"{entity}Transfer ${e}Transfer", f"{entity}Transfer",
                                    create, f"save{entity}(${e}Transfer)"))
                elif role == "Deleter":
                    methods.append((f"delete{entity}s", f"array ${e}Ids", "int", create,
                                    f"delete{entity}sByIds(${e}Ids)"))
                elif role in ("Expander", "Filter"):
                    methods.append((f"get{entity}Collection", f"{entity}CriteriaTransfer ${e}CriteriaTransfer",
                                    f"{entity}CollectionTransfer", create, f"get{entity}Collection(${e}CriteriaTransfer)"))
                elif role == "Validator":
                    methods.append((f"validate{entity}", f"{entity}Transfer ${e}Transfer", "ErrorCollectionTransfer",
                                    create, f"validate(${e}Transfer)"))
        # Names must be unique within the class.
        seen, unique = set(), []
        for method in methods:
            if method[0] not in seen:
                seen.add(method[0])
                unique.append(method)
        return unique

    @staticmethod
    def transfer_uses(*types: str) -> set[str]:
        uses = set()
        for t in types:
            t = t.lstrip("?")
            if t.endswith("Transfer"):
                uses.add(f"Generated\\Shared\\Transfer\\{t}")
        return uses

    def facade(self, m: CoreModule) -> str:
        parts, uses = [], {"Spryker\\Zed\\Kernel\\Business\\AbstractFacade"}
        for name, params, ret, create, call in self.facade_methods(m):
            uses |= self.transfer_uses(ret, params.split(" ")[0])
            parts.append(f"""
/**
 * {{@inheritDoc}}
 *
 * @api
 */
public function {name}({params}): {ret}
{{
    return $this->getFactory()
        ->{create}()
        ->{call};
}}""".strip("\n"))
        body = f"""/**
 * @method \\{m.zed}\\Business\\{m.name}BusinessFactory getFactory()
 * @method \\{m.zed}\\Persistence\\{m.name}RepositoryInterface getRepository()
 * @method \\{m.zed}\\Persistence\\{m.name}EntityManagerInterface getEntityManager()
 */
class {m.name}Facade extends AbstractFacade implements {m.name}FacadeInterface
{{
{indent(chr(10).join(chr(10) + p if i else p for i, p in enumerate(parts)), 1)}
}}
"""
        return php_file(f"{m.zed}\\Business", uses, body)

    def facade_interface(self, m: CoreModule) -> str:
        parts, uses = [], set()
        for name, params, ret, _create, _call in self.facade_methods(m):
            uses |= self.transfer_uses(ret, params.split(" ")[0])
            deprecated = ""
            if name in m.deprecated_methods:
                deprecated = f"\n *\n * @deprecated Use {{@link {m.name}FacadeInterface::get{m.entities[0]}Collection()}} instead."
            parts.append(f"""
/**
 * Specification:
 * - Executes the {snake(name).replace('_', ' ')} use case of the {m.name} module.
 * - Runs the registered plugin stack before persisting anything.
 * - Returns the result without touching the cache.
 *
 * @api{deprecated}
 */
public function {name}({params}): {ret};""".strip("\n"))
        body = f"""interface {m.name}FacadeInterface
{{
{indent(chr(10).join(chr(10) + p if i else p for i, p in enumerate(parts)), 1)}
}}
"""
        return php_file(f"{m.zed}\\Business", uses, body)

    def model_fqcn(self, m: CoreModule, entity: str, role: str) -> str:
        return f"{m.zed}\\Business\\{entity}\\{entity}{role}"

    def business_factory(self, m: CoreModule) -> str:
        z, name = m.zed, m.name
        uses = {"Spryker\\Zed\\Kernel\\Business\\AbstractBusinessFactory", f"{z}\\{name}DependencyProvider"}
        parts = []
        for entity in m.entities:
            for role in m.roles[entity]:
                model = self.model_fqcn(m, entity, role)
                uses |= {model, model + "Interface"}
                args = self.model_ctor_args(m, entity, role)
                arg_text = "".join(f"\n        {a}," for a in args)
                parts.append(f"""
/**
 * @return \\{model}Interface
 */
public function create{entity}{role}(): {entity}{role}Interface
{{
    return new {entity}{role}({arg_text}
    );
}}""".strip("\n"))
        for dep in m.facade_deps:
            iface = f"{z}\\Dependency\\Facade\\{name}To{dep}FacadeInterface"
            uses.add(iface)
            parts.append(f"""
/**
 * @return \\{iface}
 */
public function get{dep}Facade(): {name}To{dep}FacadeInterface
{{
    return $this->getProvidedDependency({name}DependencyProvider::FACADE_{upper_snake(dep)});
}}""".strip("\n"))
        for stack in m.stacks:
            parts.append(f"""
/**
 * @return array<\\{stack.interface}>
 */
public function {stack.getter}(): array
{{
    return $this->getProvidedDependency({name}DependencyProvider::{stack.constant});
}}""".strip("\n"))
        body = f"""/**
 * @method \\{z}\\{name}Config getConfig()
 * @method \\{z}\\Persistence\\{name}RepositoryInterface getRepository()
 * @method \\{z}\\Persistence\\{name}EntityManagerInterface getEntityManager()
 */
class {name}BusinessFactory extends AbstractBusinessFactory
{{
{indent(chr(10).join(chr(10) + p if i else p for i, p in enumerate(parts)), 1)}
}}
"""
        return php_file(f"{z}\\Business", uses, body)

    def model_ctor_args(self, m: CoreModule, entity: str, role: str) -> list[str]:
        args = ["$this->getRepository()"]
        if role in ("Writer", "Updater", "Creator", "Deleter"):
            args.append("$this->getEntityManager()")
        if m.facade_deps:
            args.append(f"$this->get{m.facade_deps[0]}Facade()")
        args.append("$this->getConfig()")
        for stack in m.stacks:
            if stack.entity == entity:
                args.append(f"$this->{stack.getter}()")
                break
        return args

    def dependency_provider(self, m: CoreModule) -> str:
        z, name = m.zed, m.name
        uses = {"Spryker\\Zed\\Kernel\\AbstractBundleDependencyProvider", "Spryker\\Zed\\Kernel\\Container"}
        consts = []
        business_adds, helpers = [], []
        for dep in m.facade_deps:
            c = f"FACADE_{upper_snake(dep)}"
            consts.append(c)
            bridge = f"{z}\\Dependency\\Facade\\{name}To{dep}FacadeBridge"
            uses.add(bridge)
            business_adds.append(f"$container = $this->add{dep}Facade($container);")
            helpers.append(f"""
/**
 * @param \\Spryker\\Zed\\Kernel\\Container $container
 *
 * @return \\Spryker\\Zed\\Kernel\\Container
 */
protected function add{dep}Facade(Container $container): Container
{{
    $container->set(static::{c}, function (Container $container) {{
        return new {name}To{dep}FacadeBridge(
            $container->getLocator()->{lc_first(dep)}()->facade(),
        );
    }});

    return $container;
}}""".strip("\n"))
        for i, stack in enumerate(m.stacks):
            consts.append(stack.constant)
            if i % 2 == 0:
                # Inline registration in the provide method, as many core providers do.
                business_adds.append(f"""$container->set(static::{stack.constant}, function (Container $container) {{
    return $this->{stack.getter}();
}});""")
            else:
                business_adds.append(f"$container = $this->add{stack.name}Plugins($container);")
                helpers.append(f"""
/**
 * @param \\Spryker\\Zed\\Kernel\\Container $container
 *
 * @return \\Spryker\\Zed\\Kernel\\Container
 */
protected function add{stack.name}Plugins(Container $container): Container
{{
    $container->set(static::{stack.constant}, function (Container $container) {{
        return $this->{stack.getter}();
    }});

    return $container;
}}""".strip("\n"))
            helpers.append(f"""
/**
 * @return array<\\{stack.interface}>
 */
protected function {stack.getter}(): array
{{
    return [];
}}""".strip("\n"))
        consts.append(f"PROPEL_QUERY_{upper_snake(m.entities[0])}")
        uses.add(f"Orm\\Zed\\{name}\\Persistence\\Spy{m.entities[0]}Query")
        const_text = "\n\n".join(f"""/**
 * @var string
 */
public const {c} = '{c}';""" for c in consts)
        business_body = "\n".join(business_adds)
        provides = f"""
/**
 * @param \\Spryker\\Zed\\Kernel\\Container $container
 *
 * @return \\Spryker\\Zed\\Kernel\\Container
 */
public function provideBusinessLayerDependencies(Container $container): Container
{{
    $container = parent::provideBusinessLayerDependencies($container);
{indent(business_body, 1)}

    return $container;
}}

/**
 * @param \\Spryker\\Zed\\Kernel\\Container $container
 *
 * @return \\Spryker\\Zed\\Kernel\\Container
 */
public function providePersistenceLayerDependencies(Container $container): Container
{{
    $container = parent::providePersistenceLayerDependencies($container);
    $container->set(static::PROPEL_QUERY_{upper_snake(m.entities[0])}, $container->factory(function () {{
        return Spy{m.entities[0]}Query::create();
    }}));

    return $container;
}}""".strip("\n")
        body = f"""/**
 * @method \\{z}\\{name}Config getConfig()
 */
class {name}DependencyProvider extends AbstractBundleDependencyProvider
{{
{indent(const_text, 1)}

{indent(provides, 1)}
{indent(chr(10).join(chr(10) + h for h in helpers), 1)}
}}
"""
        return php_file(z, uses, body)

    def config(self, m: CoreModule) -> str:
        z, name = m.zed, m.name
        shared = f"{m.namespace}\\Shared\\{name}\\{name}Constants"
        entity = m.entities[0]
        body = f"""class {name}Config extends AbstractBundleConfig
{{
    /**
     * @var int
     */
    protected const WRITE_BATCH_SIZE = {self.rng.choice([100, 200, 500, 1000])};

    /**
     * @var int
     */
    protected const MAX_NAME_LENGTH = {self.rng.choice([64, 128, 255])};

    /**
     * @var string
     */
    public const {upper_snake(entity)}_STATUS_ACTIVE = 'active';

    /**
     * @api
     *
     * @return int
     */
    public function getWriteBatchSize(): int
    {{
        return static::WRITE_BATCH_SIZE;
    }}

    /**
     * @api
     *
     * @return int
     */
    public function getMaxNameLength(): int
    {{
        return static::MAX_NAME_LENGTH;
    }}

    /**
     * @api
     *
     * @return array<string, string>
     */
    public function getStatusMap(): array
    {{
        return [
            'active' => static::{upper_snake(entity)}_STATUS_ACTIVE,
            'inactive' => 'inactive',
            'expired' => 'inactive',
        ];
    }}

    /**
     * @api
     *
     * @return bool
     */
    public function isPublishingEnabled(): bool
    {{
        return (bool)$this->get({name}Constants::{upper_snake(name)}_PUBLISHING_ENABLED, true);
    }}
}}
"""
        return php_file(z, {"Spryker\\Zed\\Kernel\\AbstractBundleConfig", shared}, body)

    # -- Persistence -------------------------------------------------------------------------

    def persistence_files(self, m: CoreModule) -> list[tuple[str, str]]:
        z, name, root = m.zed, m.name, m.src("Zed")
        pz = f"{z}\\Persistence"
        entities = m.entities
        repo_methods, repo_sigs, em_methods, em_sigs, query_methods = [], [], [], [], []
        uses_repo = {"Spryker\\Zed\\Kernel\\Persistence\\AbstractRepository"}
        uses_em = {"Spryker\\Zed\\Kernel\\Persistence\\AbstractEntityManager"}
        uses_pf = {"Spryker\\Zed\\Kernel\\Persistence\\AbstractPersistenceFactory"}
        uses_iface_repo, uses_iface_em = set(), set()
        for entity in entities:
            e = lc_first(entity)
            t = f"Generated\\Shared\\Transfer\\{entity}Transfer"
            ct = f"Generated\\Shared\\Transfer\\{entity}CriteriaTransfer"
            q = f"Orm\\Zed\\{name}\\Persistence\\Spy{entity}Query"
            uses_repo |= {t, ct}
            uses_em |= {t, f"Orm\\Zed\\{name}\\Persistence\\Spy{entity}"}
            uses_iface_repo |= {t, ct}
            uses_iface_em |= {t}
            uses_pf |= {q, f"{pz}\\Propel\\Mapper\\{entity}Mapper"}
            repo_sigs.append(f"""
/**
 * @param int $id{entity}
 *
 * @return \\{t}|null
 */
public function find{entity}ById(int $id{entity}): ?{entity}Transfer;

/**
 * @param \\{ct} ${e}CriteriaTransfer
 *
 * @return array<\\{t}>
 */
public function get{entity}Transfers({entity}CriteriaTransfer ${e}CriteriaTransfer): array;""".strip("\n"))
            repo_methods.append(f"""
/**
 * @param int $id{entity}
 *
 * @return \\{t}|null
 */
public function find{entity}ById(int $id{entity}): ?{entity}Transfer
{{
    ${e}Entity = $this->getFactory()
        ->create{entity}Query()
        ->filterById{entity}($id{entity})
        ->findOne();

    if (${e}Entity === null) {{
        return null;
    }}

    return $this->getFactory()
        ->create{entity}Mapper()
        ->map{entity}EntityTo{entity}Transfer(${e}Entity, new {entity}Transfer());
}}

/**
 * @param \\{ct} ${e}CriteriaTransfer
 *
 * @return array<\\{t}>
 */
public function get{entity}Transfers({entity}CriteriaTransfer ${e}CriteriaTransfer): array
{{
    ${e}Query = $this->getFactory()->create{entity}Query();

    if (${e}CriteriaTransfer->getIds() !== []) {{
        ${e}Query->filterById{entity}_In(${e}CriteriaTransfer->getIds());
    }}
    if (${e}CriteriaTransfer->getName() !== null) {{
        ${e}Query->filterByName_Like('%' . ${e}CriteriaTransfer->getName() . '%');
    }}

    ${e}Transfers = [];
    $mapper = $this->getFactory()->create{entity}Mapper();
    foreach (${e}Query->find() as ${e}Entity) {{
        ${e}Transfers[] = $mapper->map{entity}EntityTo{entity}Transfer(${e}Entity, new {entity}Transfer());
    }}

    return ${e}Transfers;
}}""".strip("\n"))
            em_sigs.append(f"""
/**
 * @param \\{t} ${e}Transfer
 *
 * @return \\{t}
 */
public function create{entity}({entity}Transfer ${e}Transfer): {entity}Transfer;""".strip("\n"))
            em_methods.append(f"""
/**
 * @param \\{t} ${e}Transfer
 *
 * @return \\{t}
 */
public function create{entity}({entity}Transfer ${e}Transfer): {entity}Transfer
{{
    $mapper = $this->getFactory()->create{entity}Mapper();
    ${e}Entity = $mapper->map{entity}TransferTo{entity}Entity(${e}Transfer, new Spy{entity}());
    ${e}Entity->save();

    return $mapper->map{entity}EntityTo{entity}Transfer(${e}Entity, ${e}Transfer);
}}""".strip("\n"))
            query_methods.append(f"""
/**
 * @return \\{q}
 */
public function create{entity}Query(): Spy{entity}Query
{{
    return Spy{entity}Query::create();
}}

/**
 * @return \\{pz}\\Propel\\Mapper\\{entity}Mapper
 */
public function create{entity}Mapper(): {entity}Mapper
{{
    return new {entity}Mapper();
}}""".strip("\n"))
        repo = php_file(pz, uses_repo, f"""/**
 * @method \\{pz}\\{name}PersistenceFactory getFactory()
 */
class {name}Repository extends AbstractRepository implements {name}RepositoryInterface
{{
{indent(chr(10).join(chr(10) + p if i else p for i, p in enumerate(repo_methods)), 1)}
}}
""")
        repo_iface = php_file(pz, uses_iface_repo, f"""interface {name}RepositoryInterface
{{
{indent(chr(10).join(chr(10) + p if i else p for i, p in enumerate(repo_sigs)), 1)}
}}
""")
        em = php_file(pz, uses_em, f"""/**
 * @method \\{pz}\\{name}PersistenceFactory getFactory()
 */
class {name}EntityManager extends AbstractEntityManager implements {name}EntityManagerInterface
{{
{indent(chr(10).join(chr(10) + p if i else p for i, p in enumerate(em_methods)), 1)}
}}
""")
        em_iface = php_file(pz, uses_iface_em, f"""interface {name}EntityManagerInterface
{{
{indent(chr(10).join(chr(10) + p if i else p for i, p in enumerate(em_sigs)), 1)}
}}
""")
        pf = php_file(pz, uses_pf, f"""/**
 * @method \\{z}\\{name}Config getConfig()
 * @method \\{pz}\\{name}EntityManagerInterface getEntityManager()
 * @method \\{pz}\\{name}RepositoryInterface getRepository()
 */
class {name}PersistenceFactory extends AbstractPersistenceFactory
{{
{indent(chr(10).join(chr(10) + p if i else p for i, p in enumerate(query_methods)), 1)}
}}
""")
        out = [
            (f"{root}/Persistence/{name}Repository.php", repo),
            (f"{root}/Persistence/{name}RepositoryInterface.php", repo_iface),
            (f"{root}/Persistence/{name}EntityManager.php", em),
            (f"{root}/Persistence/{name}EntityManagerInterface.php", em_iface),
            (f"{root}/Persistence/{name}PersistenceFactory.php", pf),
        ]
        for entity in entities:
            out.append((f"{root}/Persistence/Propel/Mapper/{entity}Mapper.php", self.propel_mapper(m, entity)))
        return out

    def propel_mapper(self, m: CoreModule, entity: str) -> str:
        e = lc_first(entity)
        fields = self.entity_fields(entity)
        getters = "\n".join(f"        ->set{f[:1].upper() + f[1:]}(${e}Entity->get{f[:1].upper() + f[1:]}())"
                            for f in fields)
        body = f"""class {entity}Mapper
{{
    /**
     * @param \\Orm\\Zed\\{m.name}\\Persistence\\Spy{entity} ${e}Entity
     * @param \\Generated\\Shared\\Transfer\\{entity}Transfer ${e}Transfer
     *
     * @return \\Generated\\Shared\\Transfer\\{entity}Transfer
     */
    public function map{entity}EntityTo{entity}Transfer(Spy{entity} ${e}Entity, {entity}Transfer ${e}Transfer): {entity}Transfer
    {{
        return ${e}Transfer
            ->fromArray(${e}Entity->toArray(), true)
            ->setId{entity}(${e}Entity->getId{entity}())
{getters};
    }}

    /**
     * @param \\Generated\\Shared\\Transfer\\{entity}Transfer ${e}Transfer
     * @param \\Orm\\Zed\\{m.name}\\Persistence\\Spy{entity} ${e}Entity
     *
     * @return \\Orm\\Zed\\{m.name}\\Persistence\\Spy{entity}
     */
    public function map{entity}TransferTo{entity}Entity({entity}Transfer ${e}Transfer, Spy{entity} ${e}Entity): Spy{entity}
    {{
        ${e}Entity->fromArray(${e}Transfer->modifiedToArray(false));

        return ${e}Entity;
    }}
}}
"""
        return php_file(f"{m.zed}\\Persistence\\Propel\\Mapper",
                        {f"Generated\\Shared\\Transfer\\{entity}Transfer", f"Orm\\Zed\\{m.name}\\Persistence\\Spy{entity}"},
                        body)

    def entity_fields(self, entity: str) -> list[str]:
        # Derived from the name, not from the shared rng, so every caller gets the same list.
        digest = int(hashlib.sha256(entity.encode()).hexdigest(), 16)
        count = 3 + digest % 4
        picked: list[str] = []
        for i in range(1, 64):
            candidate = FIELDS[(digest >> (4 * i)) % len(FIELDS)]
            if candidate not in picked:
                picked.append(candidate)
            if len(picked) == count:
                break
        return picked

    # -- Communication -----------------------------------------------------------------------

    def communication_files(self, m: CoreModule) -> list[tuple[str, str]]:
        z, name, root = m.zed, m.name, m.src("Zed")
        out = []
        entity = m.entities[0]
        e = lc_first(entity)
        out.append((f"{root}/Communication/{name}CommunicationFactory.php", php_file(
            f"{z}\\Communication", {"Spryker\\Zed\\Kernel\\Communication\\AbstractCommunicationFactory"}, f"""/**
 * @method \\{z}\\{name}Config getConfig()
 * @method \\{z}\\Business\\{name}FacadeInterface getFacade()
 * @method \\{z}\\Persistence\\{name}RepositoryInterface getRepository()
 */
class {name}CommunicationFactory extends AbstractCommunicationFactory
{{
}}
""")))
        out.append((f"{root}/Communication/Controller/IndexController.php", php_file(
            f"{z}\\Communication\\Controller",
            {"Spryker\\Zed\\Kernel\\Communication\\Controller\\AbstractController",
             "Symfony\\Component\\HttpFoundation\\Request",
             f"Generated\\Shared\\Transfer\\{entity}CriteriaTransfer"}, f"""/**
 * @method \\{z}\\Communication\\{name}CommunicationFactory getFactory()
 * @method \\{z}\\Business\\{name}FacadeInterface getFacade()
 */
class IndexController extends AbstractController
{{
    /**
     * @var string
     */
    protected const PARAM_ID = 'id-{kebab(entity)}';

    /**
     * @param \\Symfony\\Component\\HttpFoundation\\Request $request
     *
     * @return array<string, mixed>
     */
    public function indexAction(Request $request): array
    {{
        $criteriaTransfer = (new {entity}CriteriaTransfer())
            ->setName($request->query->get('name'))
            ->setWithInactive($request->query->getBoolean('with-inactive'));

        $ids = $request->query->all('ids');
        if ($ids !== []) {{
            $criteriaTransfer->setIds(array_map('intval', $ids));
        }}

        return $this->viewResponse([
            '{e}Collection' => $this->getFacade()->get{entity}Collection($criteriaTransfer),
            'idParam' => static::PARAM_ID,
        ]);
    }}
}}
""")))
        out.append((f"{root}/Communication/Console/{name}Console.php", self.console(m)))
        for plugin in m.plugins:
            out.append(self.plugin_file(m, plugin))
        return out

    def console(self, m: CoreModule) -> str:
        name = m.name
        command = f"{kebab(name)}:publish"
        return php_file(f"{m.zed}\\Communication\\Console", {
            "Spryker\\Zed\\Kernel\\Communication\\Console\\Console",
            "Symfony\\Component\\Console\\Input\\InputInterface",
            "Symfony\\Component\\Console\\Input\\InputOption",
            "Symfony\\Component\\Console\\Output\\OutputInterface"}, f"""/**
 * @method \\{m.zed}\\Business\\{name}FacadeInterface getFacade()
 */
class {name}Console extends Console
{{
    /**
     * @var string
     */
    public const COMMAND_NAME = '{command}';

    /**
     * @var string
     */
    protected const OPTION_IDS = 'ids';

    /**
     * @return void
     */
    protected function configure(): void
    {{
        $this->setName(static::COMMAND_NAME)
            ->setDescription('Publishes {name} data to storage and search.')
            ->addOption(static::OPTION_IDS, 'i', InputOption::VALUE_REQUIRED, 'Comma-separated ids');
    }}

    /**
     * @param \\Symfony\\Component\\Console\\Input\\InputInterface $input
     * @param \\Symfony\\Component\\Console\\Output\\OutputInterface $output
     *
     * @return int
     */
    protected function execute(InputInterface $input, OutputInterface $output): int
    {{
        $ids = array_filter(explode(',', (string)$input->getOption(static::OPTION_IDS)));
        if ($ids === []) {{
            $output->writeln('<error>Nothing to publish.</error>');

            return static::CODE_ERROR;
        }}

        $output->writeln(sprintf('Publishing %d {name} entities.', count($ids)));

        return static::CODE_SUCCESS;
    }}
}}
""")

    def plugin_file(self, m: CoreModule, plugin: Plugin) -> tuple[str, str]:
        stack = plugin.stack
        entity = stack.entity
        e = lc_first(entity)
        method, params, ret, call = stack_method(stack)
        ns, cls = plugin.fqcn.rsplit("\\", 1)
        uses = {"Spryker\\Zed\\Kernel\\Communication\\AbstractPlugin", stack.interface}
        uses |= CoreWriter.transfer_uses(ret, params.split(" ")[0])
        body = f"""/**
 * @method \\{m.zed}\\Business\\{m.name}FacadeInterface getFacade()
 * @method \\{m.zed}\\{m.name}Config getConfig()
 * @method \\{m.zed}\\Communication\\{m.name}CommunicationFactory getFactory()
 */
class {cls} extends AbstractPlugin implements {short(stack.interface)}
{{
    /**
     * {{@inheritDoc}}
     * - Uses the {m.name} facade to handle the {snake(stack.kind).replace('_', ' ')} step of {entity}.
     *
     * @api
     */
    public function {method}({params}): {ret}
    {{
        {call.format(e=e, entity=entity)}
    }}
}}
"""
        return ns_path(plugin.fqcn, f"vendor/{m.vendor}/{kebab(m.name)}/src/{m.namespace}", m.namespace), \
            php_file(ns, uses, body)

    def bridge_files(self, m: CoreModule) -> list[tuple[str, str]]:
        z, name, root = m.zed, m.name, m.src("Zed")
        out = []
        for dep in m.facade_deps:
            d = lc_first(dep)
            iface = f"""interface {name}To{dep}FacadeInterface
{{
    /**
     * @param int $id{dep}
     *
     * @return \\Generated\\Shared\\Transfer\\{dep}Transfer|null
     */
    public function find{dep}ById(int $id{dep}): ?{dep}Transfer;

    /**
     * @param string $eventName
     * @param \\Spryker\\Shared\\Kernel\\Transfer\\TransferInterface $transfer
     *
     * @return void
     */
    public function trigger(string $eventName, TransferInterface $transfer): void;
}}
"""
            bridge = f"""class {name}To{dep}FacadeBridge implements {name}To{dep}FacadeInterface
{{
    /**
     * @var \\Spryker\\Zed\\{dep}\\Business\\{dep}FacadeInterface
     */
    protected ${d}Facade;

    /**
     * @param \\Spryker\\Zed\\{dep}\\Business\\{dep}FacadeInterface ${d}Facade
     */
    public function __construct(${d}Facade)
    {{
        $this->{d}Facade = ${d}Facade;
    }}

    /**
     * @param int $id{dep}
     *
     * @return \\Generated\\Shared\\Transfer\\{dep}Transfer|null
     */
    public function find{dep}ById(int $id{dep}): ?{dep}Transfer
    {{
        return $this->{d}Facade->find{dep}ById($id{dep});
    }}

    /**
     * @param string $eventName
     * @param \\Spryker\\Shared\\Kernel\\Transfer\\TransferInterface $transfer
     *
     * @return void
     */
    public function trigger(string $eventName, TransferInterface $transfer): void
    {{
        $this->{d}Facade->trigger($eventName, $transfer);
    }}
}}
"""
            uses = {f"Generated\\Shared\\Transfer\\{dep}Transfer", "Spryker\\Shared\\Kernel\\Transfer\\TransferInterface"}
            ns = f"{z}\\Dependency\\Facade"
            out.append((f"{root}/Dependency/Facade/{name}To{dep}FacadeInterface.php", php_file(ns, uses, iface)))
            out.append((f"{root}/Dependency/Facade/{name}To{dep}FacadeBridge.php", php_file(ns, uses, bridge)))
        return out

    # -- Shared, Client ----------------------------------------------------------------------

    def shared_files(self, m: CoreModule) -> list[tuple[str, str]]:
        name = m.name
        ns = f"{m.namespace}\\Shared\\{name}"
        body = f"""/**
 * Declares global environment configuration keys. Do not use it for other class constants.
 */
interface {name}Constants
{{
    /**
     * Specification:
     * - Enables publishing of {name} entities.
     *
     * @api
     *
     * @var string
     */
    public const {upper_snake(name)}_PUBLISHING_ENABLED = '{upper_snake(name)}:{upper_snake(name)}_PUBLISHING_ENABLED';

    /**
     * @api
     *
     * @var string
     */
    public const {upper_snake(name)}_QUEUE_NAME = '{upper_snake(name)}:{upper_snake(name)}_QUEUE_NAME';
}}
"""
        return [(f"{m.src('Shared')}/{name}Constants.php", php_file(ns, set(), body))]

    def client_files(self, m: CoreModule) -> list[tuple[str, str]]:
        name, root = m.name, m.src("Client")
        ns = f"{m.namespace}\\Client\\{name}"
        entity = m.entities[0]
        e = lc_first(entity)
        t = f"Generated\\Shared\\Transfer\\{entity}CriteriaTransfer"
        ct = f"Generated\\Shared\\Transfer\\{entity}CollectionTransfer"
        client = php_file(ns, {"Spryker\\Client\\Kernel\\AbstractClient", t, ct}, f"""/**
 * @method \\{ns}\\{name}Factory getFactory()
 */
class {name}Client extends AbstractClient implements {name}ClientInterface
{{
    /**
     * {{@inheritDoc}}
     *
     * @api
     */
    public function get{entity}Collection({entity}CriteriaTransfer ${e}CriteriaTransfer): {entity}CollectionTransfer
    {{
        return $this->getFactory()
            ->create{name}Stub()
            ->get{entity}Collection(${e}CriteriaTransfer);
    }}
}}
""")
        iface = php_file(ns, {t, ct}, f"""interface {name}ClientInterface
{{
    /**
     * Specification:
     * - Makes a Zed request to read {entity} entities matching the criteria.
     *
     * @api
     */
    public function get{entity}Collection({entity}CriteriaTransfer ${e}CriteriaTransfer): {entity}CollectionTransfer;
}}
""")
        factory = php_file(ns, {"Spryker\\Client\\Kernel\\AbstractFactory", f"{ns}\\Zed\\{name}Stub",
                                f"{ns}\\Zed\\{name}StubInterface"}, f"""class {name}Factory extends AbstractFactory
{{
    /**
     * @return \\{ns}\\Zed\\{name}StubInterface
     */
    public function create{name}Stub(): {name}StubInterface
    {{
        return new {name}Stub($this->getProvidedDependency({name}DependencyProvider::CLIENT_ZED_REQUEST));
    }}
}}
""")
        dp = php_file(ns, {"Spryker\\Client\\Kernel\\AbstractDependencyProvider", "Spryker\\Client\\Kernel\\Container"},
                      f"""class {name}DependencyProvider extends AbstractDependencyProvider
{{
    /**
     * @var string
     */
    public const CLIENT_ZED_REQUEST = 'CLIENT_ZED_REQUEST';

    /**
     * @param \\Spryker\\Client\\Kernel\\Container $container
     *
     * @return \\Spryker\\Client\\Kernel\\Container
     */
    public function provideServiceLayerDependencies(Container $container): Container
    {{
        $container->set(static::CLIENT_ZED_REQUEST, function (Container $container) {{
            return $container->getLocator()->zedRequest()->client();
        }});

        return $container;
    }}
}}
""")
        stub = php_file(f"{ns}\\Zed", {t, ct}, f"""class {name}Stub implements {name}StubInterface
{{
    /**
     * @var \\Spryker\\Client\\ZedRequest\\ZedRequestClientInterface
     */
    protected $zedRequestClient;

    /**
     * @param \\Spryker\\Client\\ZedRequest\\ZedRequestClientInterface $zedRequestClient
     */
    public function __construct($zedRequestClient)
    {{
        $this->zedRequestClient = $zedRequestClient;
    }}

    /**
     * @uses \\{m.zed}\\Communication\\Controller\\GatewayController::get{entity}CollectionAction()
     *
     * @param \\{t} ${e}CriteriaTransfer
     *
     * @return \\{ct}
     */
    public function get{entity}Collection({entity}CriteriaTransfer ${e}CriteriaTransfer): {entity}CollectionTransfer
    {{
        /** @var \\{ct} ${e}CollectionTransfer */
        ${e}CollectionTransfer = $this->zedRequestClient->call('/{kebab(m.name)}/gateway/get-{kebab(entity)}-collection', ${e}CriteriaTransfer);

        return ${e}CollectionTransfer;
    }}
}}
""")
        stub_iface = php_file(f"{ns}\\Zed", {t, ct}, f"""interface {name}StubInterface
{{
    /**
     * @param \\{t} ${e}CriteriaTransfer
     *
     * @return \\{ct}
     */
    public function get{entity}Collection({entity}CriteriaTransfer ${e}CriteriaTransfer): {entity}CollectionTransfer;
}}
""")
        return [
            (f"{root}/{name}Client.php", client),
            (f"{root}/{name}ClientInterface.php", iface),
            (f"{root}/{name}Factory.php", factory),
            (f"{root}/{name}DependencyProvider.php", dp),
            (f"{root}/Zed/{name}Stub.php", stub),
            (f"{root}/Zed/{name}StubInterface.php", stub_iface),
        ]

    # -- Business models ---------------------------------------------------------------------

    def business_model_files(self, m: CoreModule) -> list[tuple[str, str]]:
        out = []
        for entity in m.entities:
            for role in m.roles[entity]:
                fq = self.model_fqcn(m, entity, role)
                path = ns_path(fq, f"vendor/{m.vendor}/{kebab(m.name)}/src/{m.namespace}", m.namespace)
                model, iface = self.business_model(m, entity, role)
                out.append((path, model))
                out.append((path.replace(".php", "Interface.php"), iface))
        return out

    def business_model(self, m: CoreModule, entity: str, role: str) -> tuple[str, str]:
        z, name = m.zed, m.name
        e = lc_first(entity)
        cls = f"{entity}{role}"
        ns = f"{z}\\Business\\{entity}"
        methods, uses = role_methods(role, entity, self.entity_fields(entity))
        uses |= {f"{z}\\Persistence\\{name}RepositoryInterface", f"{z}\\{name}Config"}
        props = [("repository", f"{name}RepositoryInterface", f"\\{z}\\Persistence\\{name}RepositoryInterface")]
        if role in ("Writer", "Updater", "Creator", "Deleter"):
            uses.add(f"{z}\\Persistence\\{name}EntityManagerInterface")
            props.append(("entityManager", f"{name}EntityManagerInterface",
                          f"\\{z}\\Persistence\\{name}EntityManagerInterface"))
        if m.facade_deps:
            dep = m.facade_deps[0]
            uses.add(f"{z}\\Dependency\\Facade\\{name}To{dep}FacadeInterface")
            # Writers trigger events through this facade; other models only read through it.
            prop = "eventFacade" if role in ("Writer", "Updater", "Creator") else f"{lc_first(dep)}Facade"
            props.append((prop, f"{name}To{dep}FacadeInterface", f"\\{z}\\Dependency\\Facade\\{name}To{dep}FacadeInterface"))
        props.append(("config", f"{name}Config", f"\\{z}\\{name}Config"))
        stack = next((s for s in m.stacks if s.entity == entity), None)
        if stack is not None:
            props.append((f"{e}{'PreSave' if role in ('Writer', 'Updater', 'Creator') else 'Expander'}Plugins", "array",
                          f"array<\\{stack.interface}>"))
        trait = ""
        if role in ("Writer", "Updater", "Creator"):
            uses.add("Spryker\\Zed\\Kernel\\Persistence\\EntityManager\\TransactionTrait")
            trait = "    use TransactionTrait;\n\n"
        prop_text = "\n\n".join(f"""    /**
     * @var {doc}
     */
    protected ${p};""" for p, _t, doc in props)
        param_doc = "\n".join(f"     * @param {doc} ${p}" for p, _t, doc in props)
        params = ",\n".join(f"        {t} ${p}" for p, t, _doc in props)
        assigns = "\n".join(f"        $this->{p} = ${p};" for p, _t, _doc in props)
        deprecated = ""
        if m.deprecated_methods and role == "Checker":
            deprecated = "\n *\n * @deprecated Will be removed without replacement."
        body = f"""/**
 * {role} of {entity} data for the {name} module.{deprecated}
 */
class {cls} implements {cls}Interface
{{
{trait}{prop_text}

    /**
{param_doc}
     */
    public function __construct(
{params},
    ) {{
{assigns}
    }}

{indent(methods, 1)}
}}
"""
        # The interface lists the public methods of the model.
        sigs = []
        for match in re.finditer(r"(/\*\*(?:(?!\*/).)*\*/)\npublic function ([^\n]+)\n\{", methods, re.S):
            sigs.append(f"{match.group(1)}\npublic function {match.group(2)};")
        iface_body = f"""interface {cls}Interface
{{
{indent(chr(10).join(chr(10) + s if i else s for i, s in enumerate(sigs)), 1)}
}}
"""
        iface_uses = {u for u in uses if u.startswith("Generated\\")}
        return php_file(ns, uses, body), php_file(ns, iface_uses, iface_body)

    # -- Extension packages ------------------------------------------------------------------

    def extension_files(self, m: CoreModule) -> list[tuple[str, str]]:
        out = []
        for stack in m.stacks:
            method, params, ret, _call = stack_method(stack)
            ns, iface = stack.interface.rsplit("\\", 1)
            uses = CoreWriter.transfer_uses(ret, params.split(" ")[0])
            body = f"""/**
 * Use this plugin interface to run the {snake(stack.kind).replace('_', ' ')} step for {stack.entity} in {m.name}.
 */
interface {iface}
{{
    /**
     * Specification:
     * - Executed by {m.name}Facade for each {stack.entity}.
     * - Returns the given data, changed or not.
     *
     * @api
     */
    public function {method}({params}): {ret};
}}
"""
            path = f"vendor/{m.vendor}/{kebab(m.name)}-extension/src/{m.namespace}/Zed/{m.name}Extension/Dependency/Plugin/{iface}.php"
            out.append((path, php_file(ns, uses, body)))
        return out

    # -- XML ---------------------------------------------------------------------------------

    def transfer_xml(self, entities: list[str], extra: dict[str, list[str]] | None = None) -> str:
        blocks = []
        for entity in entities:
            props = [f'        <property name="id{entity}" type="int"/>']
            for f in self.entity_fields(entity):
                props.append(f'        <property name="{f}" type="string"/>')
            props.append('        <property name="isActive" type="bool"/>')
            props.append('        <property name="validTo" type="string"/>')
            for p in (extra or {}).get(entity, []):
                props.append(f'        <property name="{p}" type="string"/>')
            blocks.append(f'    <transfer name="{entity}">\n' + "\n".join(props) + "\n    </transfer>")
            blocks.append(f"""    <transfer name="{entity}Criteria">
        <property name="ids" type="int[]" singular="id"/>
        <property name="name" type="string"/>
        <property name="withInactive" type="bool"/>
    </transfer>""")
            blocks.append(f"""    <transfer name="{entity}Collection">
        <property name="{lc_first(entity)}s" type="{entity}[]" singular="{lc_first(entity)}"/>
    </transfer>""")
        return ('<?xml version="1.0"?>\n'
                '<transfers xmlns="spryker:transfer-01"\n'
                '           xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"\n'
                '           xsi:schemaLocation="spryker:transfer-01 http://static.spryker.com/transfer-01.xsd">\n\n'
                + "\n\n".join(blocks) + "\n\n</transfers>\n")

    def schema_xml(self, module: str, entities: list[str], extra: dict[str, list[str]] | None = None,
                   new_tables: list[str] | None = None) -> str:
        tables = []
        for entity in entities:
            table = f"spy_{snake(entity)}"
            cols = [f'        <column name="id_{snake(entity)}" required="true" type="INTEGER" autoIncrement="true" primaryKey="true"/>']
            for f in self.entity_fields(entity):
                cols.append(f'        <column name="{snake(f)}" required="false" type="VARCHAR" size="255"/>')
            cols.append('        <column name="is_active" required="true" type="BOOLEAN" default="true"/>')
            for c in (extra or {}).get(entity, []):
                cols.append(f'        <column name="{c}" required="false" type="VARCHAR" size="255"/>')
            cols.append(f'        <behavior name="timestampable"/>\n        <id-method-parameter value="{table}_pk_seq"/>')
            tables.append(f'    <table name="{table}" idMethod="native" allowPkInsert="true">\n' + "\n".join(cols) + "\n    </table>")
        for table in new_tables or []:
            tables.append(f"""    <table name="{table}" idMethod="native">
        <column name="id_{table}" required="true" type="INTEGER" autoIncrement="true" primaryKey="true"/>
        <column name="name" required="true" type="VARCHAR" size="255"/>
    </table>""")
        return ('<?xml version="1.0"?>\n'
                f'<database xmlns="spryker:schema-01" name="zed" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"'
                f' xsi:schemaLocation="spryker:schema-01 https://static.spryker.com/schema-01.xsd"'
                f' namespace="Orm\\Zed\\{module}\\Persistence" package="src.Orm.Zed.{module}.Persistence">\n\n'
                + "\n\n".join(tables) + "\n\n</database>\n")


def stack_method(stack: Stack) -> tuple[str, str, str, str]:
    """(method, params, return type, body template) of a stack's plugin interface."""
    entity = stack.entity
    e = lc_first(entity)
    if stack.kind == "Expander":
        return "expand", f"array ${e}Transfers", "array", "return $this->getFacade()->expand{entity}Transfers(${e}Transfers);"
    if stack.kind in ("PreSave", "PostSave"):
        verb = lc_first(stack.kind)
        return verb, f"{entity}Transfer ${e}Transfer", f"{entity}Transfer", \
            "return $this->getFacade()->save{entity}(${e}Transfer);"
    if stack.kind == "Validator":
        return "validate", f"{entity}Transfer ${e}Transfer", "ErrorCollectionTransfer", \
            "return $this->getFacade()->validate{entity}(${e}Transfer);"
    if stack.kind == "Filter":
        return "filter", f"array ${e}Transfers", "array", \
            "return array_filter(${e}Transfers, fn ({entity}Transfer $transfer): bool => $transfer->getIsActive() === true);"
    if stack.kind == "PreCheck":
        return "isApplicable", f"{entity}Transfer ${e}Transfer", "bool", \
            "return $this->getFacade()->find{entity}ById(${e}Transfer->getId{entity}OrFail()) !== null;"
    return "map", f"array $data, {entity}Transfer ${e}Transfer", f"{entity}Transfer", \
        "return ${e}Transfer->fromArray($data, true);"


# --------------------------------------------------------------------------------------------------
# Building the core model.

def make_module_names(rng: random.Random, count: int, taken: set[str]) -> list[str]:
    names: list[str] = []
    bases = list(WORDS)
    pairs = [a + b for a in WORDS for b in WORDS if a != b]
    rng.shuffle(pairs)
    bases += pairs
    for base in bases:
        for suffix in MODULE_SUFFIXES:
            name = base + suffix
            if name in taken or (suffix and base.endswith(suffix)):
                continue
            taken.add(name)
            names.append(name)
            if len(names) == count:
                return names
    raise SystemExit("ran out of module names; the vocabulary is too small for this many modules")


def build_core_modules(rng: random.Random, vendor: str, namespace: str, names: list[str]) -> list[CoreModule]:
    modules = []
    for name in names:
        extra = rng.sample(ENTITY_SUFFIXES, rng.choice([0, 1, 1, 2]))
        entities = [name] + [name + s for s in extra]
        version = f"{rng.randint(1, 9)}.{rng.randint(0, 40)}.{rng.randint(0, 9)}"
        m = CoreModule(vendor=vendor, namespace=namespace, name=name, entities=entities, version=version,
                       has_client=rng.random() < 0.5)
        for entity in entities:
            m.roles[entity] = ["Reader"] + rng.sample(ROLES[1:], rng.randint(1, 3))
        modules.append(m)
    for m in modules:
        m.facade_deps = rng.sample([n for n in ("Locale", "Store", "Event", "Product", "Currency") if n != m.name],
                                   rng.choice([1, 1, 2]))
        for entity in m.entities[: rng.choice([0, 1, 1, 2])]:
            kind = rng.choice(STACK_KINDS)
            m.stacks.append(Stack(module=m, entity=entity, kind=kind))
        # About 1 in 8 modules deprecates a facade method.
        if rng.random() < 0.125:
            m.deprecated_methods.add(f"find{m.entities[0]}ById")
    # Plugins: other modules implement each stack's interface.
    for m in modules:
        for stack in m.stacks:
            for provider in rng.sample(modules, min(len(modules), rng.randint(2, 5))):
                cls = f"{provider.name}{stack.name}Plugin"
                fqcn = f"{provider.zed}\\Communication\\Plugin\\{m.name}\\{cls}"
                if any(p.fqcn == fqcn for p in provider.plugins):
                    continue
                plugin = Plugin(owner=provider, stack=stack, fqcn=fqcn)
                provider.plugins.append(plugin)
                stack.providers.append(plugin)
    return modules


def emit_core(shop: Shop, writer: CoreWriter, modules: list[CoreModule], budget: int) -> int:
    """Write modules until `budget` PHP files; returns the number written."""
    written = 0
    for m in modules:
        if written >= budget:
            break
        files = writer.module_files(m) + writer.extension_files(m)
        remaining = budget - written
        if len(files) <= remaining:
            m.emitted = True
        else:
            files = files[:remaining]
        for path, content in files:
            shop.add(path, content)
        written += len(files)
        if m.emitted:
            zed = m.src("Zed")
            shop.add(f"{m.src('Shared')}/Transfer/{snake(m.name)}.transfer.xml", writer.transfer_xml(m.entities))
            shop.add(f"{zed}/Persistence/Propel/Schema/spy_{snake(m.name)}.schema.xml",
                     writer.schema_xml(m.name, m.entities))
    return written


# --------------------------------------------------------------------------------------------------
# Yves core (spryker-shop): controllers, widgets, router plugins, factories, dependency providers.

def shop_module_files(rng: random.Random, name: str) -> list[tuple[str, str]]:
    ns = f"SprykerShop\\Yves\\{name}"
    root = f"vendor/spryker-shop/{kebab(name)}/src/SprykerShop/Yves/{name}"
    files = []
    files.append((f"{root}/{name}DependencyProvider.php", php_file(ns, {
        "Spryker\\Yves\\Kernel\\AbstractBundleDependencyProvider", "Spryker\\Yves\\Kernel\\Container"}, f"""class {name}DependencyProvider extends AbstractBundleDependencyProvider
{{
    /**
     * @var string
     */
    public const PLUGINS_{upper_snake(name)}_WIDGET = 'PLUGINS_{upper_snake(name)}_WIDGET';

    /**
     * @var string
     */
    public const CLIENT_STORE = 'CLIENT_STORE';

    /**
     * @param \\Spryker\\Yves\\Kernel\\Container $container
     *
     * @return \\Spryker\\Yves\\Kernel\\Container
     */
    public function provideDependencies(Container $container): Container
    {{
        $container->set(static::PLUGINS_{upper_snake(name)}_WIDGET, function (Container $container) {{
            return $this->get{name}WidgetPlugins();
        }});
        $container->set(static::CLIENT_STORE, function (Container $container) {{
            return $container->getLocator()->store()->client();
        }});

        return $container;
    }}

    /**
     * @return array<string>
     */
    protected function get{name}WidgetPlugins(): array
    {{
        return [];
    }}
}}
""")))
    files.append((f"{root}/{name}Factory.php", php_file(ns, {"Spryker\\Yves\\Kernel\\AbstractFactory"}, f"""/**
 * @method \\{ns}\\{name}Config getConfig()
 */
class {name}Factory extends AbstractFactory
{{
    /**
     * @return array<string>
     */
    public function get{name}WidgetPlugins(): array
    {{
        return $this->getProvidedDependency({name}DependencyProvider::PLUGINS_{upper_snake(name)}_WIDGET);
    }}

    /**
     * @return \\Spryker\\Client\\Store\\StoreClientInterface
     */
    public function getStoreClient()
    {{
        return $this->getProvidedDependency({name}DependencyProvider::CLIENT_STORE);
    }}
}}
""")))
    files.append((f"{root}/{name}Config.php", php_file(ns, {"Spryker\\Yves\\Kernel\\AbstractBundleConfig"}, f"""class {name}Config extends AbstractBundleConfig
{{
    /**
     * @var int
     */
    protected const DEFAULT_ITEMS_PER_PAGE = {rng.choice([10, 12, 24, 36])};

    /**
     * @api
     *
     * @return int
     */
    public function getDefaultItemsPerPage(): int
    {{
        return static::DEFAULT_ITEMS_PER_PAGE;
    }}
}}
""")))
    # Every page has an IndexController; project modules extend it.
    for action in ["Index"] + rng.sample(["Detail", "Create", "Update", "Delete", "List"], rng.randint(0, 2)):
        files.append((f"{root}/Controller/{action}Controller.php", php_file(f"{ns}\\Controller", {
            "SprykerShop\\Yves\\ShopApplication\\Controller\\AbstractController",
            "Symfony\\Component\\HttpFoundation\\Request", "Spryker\\Yves\\Kernel\\View\\View"},
            f"""/**
 * @method \\{ns}\\{name}Factory getFactory()
 * @method \\{ns}\\{name}Config getConfig()
 */
class {action}Controller extends AbstractController
{{
    /**
     * @param \\Symfony\\Component\\HttpFoundation\\Request $request
     *
     * @return \\Spryker\\Yves\\Kernel\\View\\View
     */
    public function indexAction(Request $request): View
    {{
        $viewData = $this->executeIndexAction($request);

        return $this->view($viewData, $this->getFactory()->get{name}WidgetPlugins(), '@{name}/views/{kebab(action)}/{kebab(action)}.twig');
    }}

    /**
     * @param \\Symfony\\Component\\HttpFoundation\\Request $request
     *
     * @return array<string, mixed>
     */
    protected function executeIndexAction(Request $request): array
    {{
        $page = max(1, $request->query->getInt('page', 1));
        $itemsPerPage = $request->query->getInt('ipp', $this->getConfig()->getDefaultItemsPerPage());

        return [
            'page' => $page,
            'itemsPerPage' => $itemsPerPage,
            'storeName' => $this->getFactory()->getStoreClient()->getCurrentStore()->getName(),
        ];
    }}
}}
""")))
    route = f"{kebab(name)}"
    files.append((f"{root}/Plugin/Router/{name}RouteProviderPlugin.php", php_file(f"{ns}\\Plugin\\Router", {
        "SprykerShop\\Yves\\Router\\Plugin\\RouteProvider\\AbstractRouteProviderPlugin",
        "Spryker\\Yves\\Router\\Route\\RouteCollection"}, f"""class {name}RouteProviderPlugin extends AbstractRouteProviderPlugin
{{
    /**
     * @var string
     */
    public const ROUTE_NAME_{upper_snake(name)}_INDEX = '{route}/index';

    /**
     * {{@inheritDoc}}
     *
     * @api
     */
    public function addRoutes(RouteCollection $routeCollection): RouteCollection
    {{
        $route = $this->buildRoute('/{route}', '{name}', 'Index', 'indexAction');
        $routeCollection->add(static::ROUTE_NAME_{upper_snake(name)}_INDEX, $route);

        return $routeCollection;
    }}
}}
""")))
    files.append((f"{root}/Widget/{name}Widget.php", php_file(f"{ns}\\Widget", {
        "Spryker\\Yves\\Kernel\\Widget\\AbstractWidget"}, f"""/**
 * @method \\{ns}\\{name}Factory getFactory()
 */
class {name}Widget extends AbstractWidget
{{
    /**
     * @param array<string, mixed> $data
     */
    public function __construct(array $data = [])
    {{
        $this->addParameter('data', $data);
        $this->addParameter('isVisible', $data !== []);
    }}

    /**
     * @return string
     */
    public static function getName(): string
    {{
        return '{name}Widget';
    }}

    /**
     * @return string
     */
    public static function getTemplate(): string
    {{
        return '@{name}/views/{route}/{route}.twig';
    }}
}}
""")))
    return files


def emit_vendor_extra(shop: Shop, rng: random.Random, writer: CoreWriter, shop_budget: int, eco_budget: int,
                      taken: set[str]) -> tuple[list[str], list[CoreModule], int]:
    """spryker-shop (Yves) and spryker-eco (Zed integrations); returns shop module names, eco modules, files."""
    written, shop_names = 0, []
    i = 0
    while written < shop_budget:
        base = SHOP_PAGE_WORDS[i % len(SHOP_PAGE_WORDS)]
        name = base + ("Page" if i < len(SHOP_PAGE_WORDS) else "Widget" if i < 2 * len(SHOP_PAGE_WORDS) else f"Widget{i}")
        i += 1
        files = shop_module_files(rng, name)[: shop_budget - written]
        for path, content in files:
            shop.add(path, content)
        written += len(files)
        shop_names.append(name)
    eco_names = [w for w in ECO_WORDS if w not in taken]
    eco = build_core_modules(rng, "spryker-eco", "SprykerEco", eco_names)
    for m in eco:
        m.has_client = False
    eco_written = emit_core(shop, writer, eco, eco_budget)
    return shop_names, [m for m in eco if m.emitted], written + eco_written


# --------------------------------------------------------------------------------------------------
# Project code (src/Pyz).

@dataclass
class Injected:
    """Counts of rule patterns written on purpose, for bench-manifest.json."""

    counts: dict[str, int] = field(default_factory=dict)
    near_misses: dict[str, int] = field(default_factory=dict)

    def hit(self, rule: str) -> None:
        self.counts[rule] = self.counts.get(rule, 0) + 1

    def miss(self, rule: str) -> None:
        self.near_misses[rule] = self.near_misses.get(rule, 0) + 1


class ProjectWriter:
    def __init__(self, rng: random.Random, core: CoreWriter, injected: Injected, violation_rate: float) -> None:
        self.rng = rng
        self.core = core
        self.injected = injected
        self.violation_rate = violation_rate

    def wants_violation(self) -> bool:
        return self.rng.random() < self.violation_rate

    # -- Zed -----------------------------------------------------------------------------------

    def zed_module(self, m: CoreModule, all_stacks: list[Stack]) -> list[tuple[str, str]]:
        files = [self.zed_dependency_provider(m)]
        files.append(self.zed_config(m))
        files += self.zed_business(m)
        if self.rng.random() < 0.3:
            files += self.zed_persistence(m)
        if self.rng.random() < 0.4:
            files.append(self.zed_plugin(m, all_stacks))
        return files

    def zed_dependency_provider(self, m: CoreModule) -> tuple[str, str]:
        name = m.name
        alias = f"Spryker{name}DependencyProvider"
        uses = {f"{m.zed}\\{name}DependencyProvider as {alias}", "Spryker\\Zed\\Kernel\\Container"}
        parts = []
        provide_extra = []
        for stack in m.stacks:
            plugins = []
            for p in stack.providers:
                if p.owner.emitted and can_import(uses, p.fqcn):
                    uses.add(p.fqcn)
                    plugins.append(p)
            if not plugins:
                continue
            parts.append(self.plugin_stack_method(stack, plugins, uses))
        # A project-specific constant and dependency, as projects add them.
        const = "PYZ_SERVICE_UTIL_TEXT"
        provide_extra.append(f"""$container->set(static::{const}, function (Container $container) {{
    return $container->getLocator()->utilText()->service();
}});""")
        if self.wants_violation():
            kind = self.rng.choice(["additional-logic", "container-array", "nested-array", "plugin-argument",
                                    "restriction"])
            self.inject_dp_violation(kind, m, parts, provide_extra, uses)
        elif self.rng.random() < 0.2:
            # Near-miss: a development-only branch is allowed by dependency-provider-additional-logic.
            self.injected.miss("dependency-provider-additional-logic")
            provide_extra.append("""if ($this->getConfig()->isDevelopmentModeEnabled()) {
    $container = $this->addDevelopmentDependencies($container);
}""")
            parts.append("""/**
 * @param \\Spryker\\Zed\\Kernel\\Container $container
 *
 * @return \\Spryker\\Zed\\Kernel\\Container
 */
protected function addDevelopmentDependencies(Container $container): Container
{
    return $container;
}""")
        provide = f"""/**
 * @param \\Spryker\\Zed\\Kernel\\Container $container
 *
 * @return \\Spryker\\Zed\\Kernel\\Container
 */
public function provideBusinessLayerDependencies(Container $container): Container
{{
    $container = parent::provideBusinessLayerDependencies($container);
{indent(chr(10).join(provide_extra), 1)}

    return $container;
}}"""
        body = f"""/**
 * @method \\Pyz\\Zed\\{name}\\{name}Config getConfig()
 */
class {name}DependencyProvider extends {alias}
{{
    /**
     * @var string
     */
    public const {const} = '{const}';

{indent(provide, 1)}
{indent(chr(10).join(chr(10) + p for p in parts), 1)}
}}
"""
        return f"src/Pyz/Zed/{name}/{name}DependencyProvider.php", php_file(f"Pyz\\Zed\\{name}", uses, body)

    def plugin_stack_method(self, stack: Stack, plugins: list[Plugin], uses: set[str]) -> str:
        entries = []
        for i, p in enumerate(plugins):
            entry = f"new {short(p.fqcn)}(),"
            if i > 0 and self.rng.random() < 0.25:
                # A correct restriction doc-block: a near-miss for plugin-restriction-docblock.
                self.injected.miss("plugin-restriction-docblock")
                entry = f"""/**
 * Restrictions:
 * - after {{@link {short(plugins[i - 1].fqcn)}}} The expanded data is needed.
 */
{entry}"""
            entries.append(entry)
        return f"""/**
 * @return array<\\{stack.interface}>
 */
protected function {stack.getter}(): array
{{
    return [
{indent(chr(10).join(entries), 2)}
    ];
}}"""

    def inject_dp_violation(self, kind: str, m: CoreModule, parts: list[str], provide_extra: list[str],
                            uses: set[str]) -> None:
        name = m.name
        plugin = self.any_plugin(m, uses)
        if plugin is None:
            kind = "additional-logic"
        else:
            uses.add(plugin)
        if kind == "additional-logic":
            self.injected.hit("dependency-provider-additional-logic")
            provide_extra.append("""if ($this->getConfig()->isSalesOrderSplitEnabled()) {
    $container = $this->addSplitDependencies($container);
}""")
            parts.append("""/**
 * @param \\Spryker\\Zed\\Kernel\\Container $container
 *
 * @return \\Spryker\\Zed\\Kernel\\Container
 */
protected function addSplitDependencies(Container $container): Container
{
    return $container;
}""")
        elif kind == "container-array":
            self.injected.hit("container-set-returns-array")
            provide_extra.append(f"""$container->set(static::PYZ_{upper_snake(name)}_ALLOWED_TYPES, function (Container $container) {{
    return ['default', 'b2b', 'marketplace'];
}});""")
            parts.append(f"""/**
 * @var string
 */
public const PYZ_{upper_snake(name)}_ALLOWED_TYPES = 'PYZ_{upper_snake(name)}_ALLOWED_TYPES';""")
        elif kind == "nested-array":
            self.injected.hit("multidimensional-plugin-array")
            parts.append(f"""/**
 * @return array<string, array<string, array<\\Spryker\\Zed\\Kernel\\Communication\\AbstractPlugin>>>
 */
protected function getPyzChannelPlugins(): array
{{
    return [
        'web' => [
            'checkout' => [
                new {short(plugin)}(),
            ],
        ],
    ];
}}""")
        elif kind == "plugin-argument":
            self.injected.hit("single-plugin-argument")
            parts.append(f"""/**
 * @return \\{plugin}
 */
protected function getPyzSinglePlugin(): {short(plugin)}
{{
    return new {short(plugin)}($this->getConfig()->getPyzPluginOptions());
}}""")
        else:
            self.injected.hit("plugin-restriction-docblock")
            parts.append(f"""/**
 * @return array<\\Spryker\\Zed\\Kernel\\Communication\\AbstractPlugin>
 */
protected function getPyzOrderedPlugins(): array
{{
    return [
        /**
         * Restrictions:
         * - must run somewhere after {{@link NotImportedPlugin}}
         */
        new {short(plugin)}(),
    ];
}}""")

    def any_plugin(self, m: CoreModule, uses: set[str]) -> str | None:
        """A core plugin this provider can import without a short-name clash, if there is one."""
        plugins = [p.fqcn for p in m.plugins + [p for s in m.stacks for p in s.providers]
                   if p.owner.emitted and can_import(uses, p.fqcn)]
        return self.rng.choice(plugins) if plugins else None

    def zed_config(self, m: CoreModule) -> tuple[str, str]:
        name = m.name
        alias = f"Spryker{name}Config"
        extra_const = ""
        if self.rng.random() < 0.08:
            # A new constant without the project prefix: reported by not-unique-constant.
            self.injected.hit("not-unique-constant")
            extra_const = f"""
    /**
     * @var string
     */
    public const CUSTOM_{upper_snake(name)}_MODE = 'strict';
"""
        body = f"""class {name}Config extends {alias}
{{
    /**
     * @var int
     */
    protected const WRITE_BATCH_SIZE = 250;
{extra_const}
    /**
     * @var string
     */
    public const PYZ_{upper_snake(name)}_DEFAULT_CHANNEL = 'web';

    /**
     * @return bool
     */
    public function isDevelopmentModeEnabled(): bool
    {{
        return APPLICATION_ENV === 'development';
    }}

    /**
     * @return bool
     */
    public function isSalesOrderSplitEnabled(): bool
    {{
        return false;
    }}

    /**
     * @return array<string, mixed>
     */
    public function getPyzPluginOptions(): array
    {{
        return ['channel' => static::PYZ_{upper_snake(name)}_DEFAULT_CHANNEL, 'batch' => static::WRITE_BATCH_SIZE];
    }}
}}
"""
        return f"src/Pyz/Zed/{name}/{name}Config.php", php_file(f"Pyz\\Zed\\{name}", {f"{m.zed}\\{name}Config as {alias}"}, body)

    def zed_business(self, m: CoreModule) -> list[tuple[str, str]]:
        name = m.name
        ns = f"Pyz\\Zed\\{name}\\Business"
        files = []
        entity = m.entities[0]
        e = lc_first(entity)
        model_kind = "extends-core" if self.rng.random() < 0.1 else "own"
        role = m.roles[entity][-1]
        core_model = f"{m.zed}\\Business\\{entity}\\{entity}{role}"
        uses = {f"{m.zed}\\Business\\{name}BusinessFactory as Spryker{name}BusinessFactory",
                f"{ns}\\{entity}\\Pyz{entity}Exporter", f"{ns}\\{entity}\\Pyz{entity}ExporterInterface"}
        factory_methods = [f"""/**
 * @return \\{ns}\\{entity}\\Pyz{entity}ExporterInterface
 */
public function createPyz{entity}Exporter(): Pyz{entity}ExporterInterface
{{
    return new Pyz{entity}Exporter(
        $this->getRepository(),
        $this->getConfig(),
    );
}}"""]
        if model_kind == "extends-core":
            # Extending a core business model is private-API extension.
            self.injected.hit("private-api-extension")
            uses.add(f"{ns}\\{entity}\\{entity}{role}")
            factory_methods.append(f"""/**
 * @return \\{core_model}Interface
 */
public function create{entity}{role}(): {entity}{role}Interface
{{
    return new {entity}{role}(...$this->getPyz{entity}{role}Arguments());
}}

/**
 * @return array<mixed>
 */
protected function getPyz{entity}{role}Arguments(): array
{{
    return [$this->getRepository(), $this->getConfig()];
}}""")
            uses.add(f"{core_model}Interface")
            files.append((f"src/Pyz/Zed/{name}/Business/{entity}/{entity}{role}.php", php_file(
                f"{ns}\\{entity}", {f"{core_model} as Spryker{entity}{role}"}, f"""class {entity}{role} extends Spryker{entity}{role}
{{
    /**
     * @param array<\\Generated\\Shared\\Transfer\\{entity}Transfer> ${e}Transfers
     *
     * @return array<int, \\Generated\\Shared\\Transfer\\{entity}Transfer>
     */
    protected function sort{entity}TransfersById(array ${e}Transfers): array
    {{
        $indexed = [];
        foreach (${e}Transfers as ${e}Transfer) {{
            $indexed[(int)${e}Transfer->getId{entity}()] = ${e}Transfer;
        }}
        ksort($indexed);

        return $indexed;
    }}
}}
""")))
        files.insert(0, (f"src/Pyz/Zed/{name}/Business/{name}BusinessFactory.php", php_file(ns, uses, f"""/**
 * @method \\Pyz\\Zed\\{name}\\{name}Config getConfig()
 * @method \\{m.zed}\\Persistence\\{name}RepositoryInterface getRepository()
 * @method \\{m.zed}\\Persistence\\{name}EntityManagerInterface getEntityManager()
 */
class {name}BusinessFactory extends Spryker{name}BusinessFactory
{{
{indent(chr(10).join(chr(10) + f if i else f for i, f in enumerate(factory_methods)), 1)}
}}
""")))
        fields = self.core.entity_fields(entity)
        columns = ", ".join(f"'{f}'" for f in fields)
        files.append((f"src/Pyz/Zed/{name}/Business/{entity}/Pyz{entity}Exporter.php", php_file(
            f"{ns}\\{entity}", {f"{m.zed}\\Persistence\\{name}RepositoryInterface", f"Pyz\\Zed\\{name}\\{name}Config",
                                f"Generated\\Shared\\Transfer\\{entity}CriteriaTransfer"},
            f"""class Pyz{entity}Exporter implements Pyz{entity}ExporterInterface
{{
    /**
     * @var array<string>
     */
    protected const EXPORT_COLUMNS = ['id', {columns}];

    /**
     * @param \\{m.zed}\\Persistence\\{name}RepositoryInterface $repository
     * @param \\Pyz\\Zed\\{name}\\{name}Config $config
     */
    public function __construct(
        protected {name}RepositoryInterface $repository,
        protected {name}Config $config,
    ) {{
    }}

    /**
     * @param array<int> ${e}Ids
     *
     * @return array<array<string, mixed>>
     */
    public function export(array ${e}Ids): array
    {{
        $rows = [];
        $criteriaTransfer = (new {entity}CriteriaTransfer())->setIds(${e}Ids)->setWithInactive(true);

        foreach ($this->repository->get{entity}Transfers($criteriaTransfer) as ${e}Transfer) {{
            $data = ${e}Transfer->toArray(true, true);
            $row = [];
            foreach (static::EXPORT_COLUMNS as $column) {{
                $row[$column] = $data[$column] ?? null;
            }}
            if ($row['id'] === null) {{
                $row['id'] = ${e}Transfer->getId{entity}();
            }}
            $rows[] = $row;
        }}

        usort($rows, static fn (array $a, array $b): int => $a['id'] <=> $b['id']);

        return $rows;
    }}
}}
""")))
        files.append((f"src/Pyz/Zed/{name}/Business/{entity}/Pyz{entity}ExporterInterface.php", php_file(
            f"{ns}\\{entity}", set(), f"""interface Pyz{entity}ExporterInterface
{{
    /**
     * @param array<int> ${e}Ids
     *
     * @return array<array<string, mixed>>
     */
    public function export(array ${e}Ids): array;
}}
""")))
        if self.rng.random() < 0.5:
            files += self.zed_facade(m, entity)
        return files

    def zed_facade(self, m: CoreModule, entity: str) -> list[tuple[str, str]]:
        name = m.name
        ns = f"Pyz\\Zed\\{name}\\Business"
        e = lc_first(entity)
        facade = php_file(ns, {f"{m.zed}\\Business\\{name}Facade as Spryker{name}Facade"}, f"""/**
 * @method \\Pyz\\Zed\\{name}\\Business\\{name}BusinessFactory getFactory()
 */
class {name}Facade extends Spryker{name}Facade implements {name}FacadeInterface
{{
    /**
     * {{@inheritDoc}}
     *
     * @api
     *
     * @param array<int> ${e}Ids
     *
     * @return array<array<string, mixed>>
     */
    public function pyzExport{entity}s(array ${e}Ids): array
    {{
        return $this->getFactory()->createPyz{entity}Exporter()->export(${e}Ids);
    }}
}}
""")
        iface = php_file(ns, {f"{m.zed}\\Business\\{name}FacadeInterface as Spryker{name}FacadeInterface"},
                         f"""interface {name}FacadeInterface extends Spryker{name}FacadeInterface
{{
    /**
     * Specification:
     * - Exports {entity} rows for the ERP feed.
     *
     * @api
     *
     * @param array<int> ${e}Ids
     *
     * @return array<array<string, mixed>>
     */
    public function pyzExport{entity}s(array ${e}Ids): array;
}}
""")
        return [(f"src/Pyz/Zed/{name}/Business/{name}Facade.php", facade),
                (f"src/Pyz/Zed/{name}/Business/{name}FacadeInterface.php", iface)]

    def zed_persistence(self, m: CoreModule) -> list[tuple[str, str]]:
        name = m.name
        entity = m.entities[0]
        ns = f"Pyz\\Zed\\{name}\\Persistence"
        repo = php_file(ns, {f"{m.zed}\\Persistence\\{name}Repository as Spryker{name}Repository"}, f"""/**
 * @method \\{m.zed}\\Persistence\\{name}PersistenceFactory getFactory()
 */
class {name}Repository extends Spryker{name}Repository implements {name}RepositoryInterface
{{
    /**
     * @param string $name
     *
     * @return array<int>
     */
    public function pyzFind{entity}IdsByName(string $name): array
    {{
        return $this->getFactory()
            ->create{entity}Query()
            ->filterByName($name)
            ->select(['id_{snake(entity)}'])
            ->find()
            ->getData();
    }}
}}
""")
        iface = php_file(ns, {f"{m.zed}\\Persistence\\{name}RepositoryInterface as Spryker{name}RepositoryInterface"},
                         f"""interface {name}RepositoryInterface extends Spryker{name}RepositoryInterface
{{
    /**
     * @param string $name
     *
     * @return array<int>
     */
    public function pyzFind{entity}IdsByName(string $name): array;
}}
""")
        return [(f"src/Pyz/Zed/{name}/Persistence/{name}Repository.php", repo),
                (f"src/Pyz/Zed/{name}/Persistence/{name}RepositoryInterface.php", iface)]

    def zed_plugin(self, m: CoreModule, all_stacks: list[Stack]) -> tuple[str, str]:
        stack = self.rng.choice(all_stacks)
        method, params, ret, _call = stack_method(stack)
        entity = stack.entity
        e = lc_first(entity)
        cls = f"Pyz{m.name}{stack.name}Plugin"
        ns = f"Pyz\\Zed\\{m.name}\\Communication\\Plugin\\{stack.module.name}"
        uses = {"Spryker\\Zed\\Kernel\\Communication\\AbstractPlugin", stack.interface}
        uses |= CoreWriter.transfer_uses(ret, params.split(" ")[0])
        if ret == "array":
            code = f"return array_values(${e}Transfers);"
        elif ret == "bool":
            code = f"return ${e}Transfer->getIsActive() === true;"
        elif ret == "ErrorCollectionTransfer":
            code = f"return $this->getFacade()->validate{entity}(${e}Transfer);"
        else:
            code = f"return ${e}Transfer;"
        body = f"""/**
 * @method \\Pyz\\Zed\\{m.name}\\Business\\{m.name}FacadeInterface getFacade()
 */
class {cls} extends AbstractPlugin implements {short(stack.interface)}
{{
    /**
     * {{@inheritDoc}}
     *
     * @api
     */
    public function {method}({params}): {ret}
    {{
        {code}
    }}
}}
"""
        return f"src/Pyz/Zed/{m.name}/Communication/Plugin/{stack.module.name}/{cls}.php", php_file(ns, uses, body)

    # -- Yves, Glue, Client, Service, Shared ---------------------------------------------------

    def yves_module(self, name: str) -> list[tuple[str, str]]:
        ns = f"Pyz\\Yves\\{name}"
        root = f"src/Pyz/Yves/{name}"
        core = f"SprykerShop\\Yves\\{name}"
        dp = php_file(ns, {f"{core}\\{name}DependencyProvider as SprykerShop{name}DependencyProvider"}, f"""class {name}DependencyProvider extends SprykerShop{name}DependencyProvider
{{
    /**
     * @return array<string>
     */
    protected function get{name}WidgetPlugins(): array
    {{
        return [
            '{name}Widget',
            'CurrencyWidget',
            'LanguageSwitcherWidget',
        ];
    }}
}}
""")
        ctrl = php_file(f"{ns}\\Controller", {f"{core}\\Controller\\IndexController as SprykerShopIndexController",
                                             "Symfony\\Component\\HttpFoundation\\Request"}, f"""/**
 * @method \\{core}\\{name}Factory getFactory()
 */
class IndexController extends SprykerShopIndexController
{{
    /**
     * @param \\Symfony\\Component\\HttpFoundation\\Request $request
     *
     * @return array<string, mixed>
     */
    protected function executeIndexAction(Request $request): array
    {{
        $viewData = parent::executeIndexAction($request);
        $viewData['pyzBreadcrumbs'] = [
            ['label' => 'home', 'url' => '/'],
            ['label' => '{kebab(name)}', 'url' => '/{kebab(name)}'],
        ];
        if ($request->query->has('debug')) {{
            $viewData['pyzDebug'] = true;
        }}

        return $viewData;
    }}
}}
""")
        return [(f"{root}/{name}DependencyProvider.php", dp), (f"{root}/Controller/IndexController.php", ctrl)]

    def glue_module(self, m: CoreModule) -> list[tuple[str, str]]:
        name = f"{m.name}sRestApi"
        ns = f"Pyz\\Glue\\{name}"
        root = f"src/Pyz/Glue/{name}"
        entity = m.entities[0]
        e = lc_first(entity)
        res = php_file(f"{ns}\\Processor\\Reader", {
            "Spryker\\Glue\\GlueApplication\\Rest\\JsonApi\\RestResponseInterface",
            "Spryker\\Glue\\GlueApplication\\Rest\\Request\\Data\\RestRequestInterface",
            f"Generated\\Shared\\Transfer\\{entity}CriteriaTransfer"}, f"""class {entity}Reader
{{
    /**
     * @var string
     */
    protected const RESOURCE_{upper_snake(entity)}S = '{kebab(entity)}s';

    /**
     * @param \\Spryker\\Client\\{m.name}\\{m.name}ClientInterface ${lc_first(m.name)}Client
     * @param \\Spryker\\Glue\\GlueApplication\\Rest\\JsonApi\\RestResourceBuilderInterface $restResourceBuilder
     */
    public function __construct(
        protected $restClient,
        protected $restResourceBuilder,
    ) {{
    }}

    /**
     * @param \\Spryker\\Glue\\GlueApplication\\Rest\\Request\\Data\\RestRequestInterface $restRequest
     *
     * @return \\Spryker\\Glue\\GlueApplication\\Rest\\JsonApi\\RestResponseInterface
     */
    public function get{entity}s(RestRequestInterface $restRequest): RestResponseInterface
    {{
        $response = $this->restResourceBuilder->createRestResponse();
        $criteria = (new {entity}CriteriaTransfer())->setName($restRequest->getHttpRequest()->query->get('q'));

        foreach ($this->restClient->get{entity}Collection($criteria)->get{entity}s() as ${e}Transfer) {{
            $response->addResource($this->restResourceBuilder->createRestResource(
                static::RESOURCE_{upper_snake(entity)}S,
                (string)${e}Transfer->getId{entity}(),
                ${e}Transfer,
            ));
        }}

        return $response;
    }}
}}
""")
        factory = php_file(ns, {"Spryker\\Glue\\Kernel\\AbstractFactory", f"{ns}\\Processor\\Reader\\{entity}Reader"},
                           f"""class {name}Factory extends AbstractFactory
{{
    /**
     * @return \\{ns}\\Processor\\Reader\\{entity}Reader
     */
    public function create{entity}Reader(): {entity}Reader
    {{
        return new {entity}Reader($this->getProvidedDependency('CLIENT_{upper_snake(m.name)}'), $this->getResourceBuilder());
    }}
}}
""")
        return [(f"{root}/Processor/Reader/{entity}Reader.php", res), (f"{root}/{name}Factory.php", factory)]

    def client_module(self, m: CoreModule) -> list[tuple[str, str]]:
        name = m.name
        ns = f"Pyz\\Client\\{name}"
        client = php_file(ns, {f"Spryker\\Client\\{name}\\{name}Client as Spryker{name}Client"}, f"""/**
 * @method \\Spryker\\Client\\{name}\\{name}Factory getFactory()
 */
class {name}Client extends Spryker{name}Client implements {name}ClientInterface
{{
    /**
     * {{@inheritDoc}}
     *
     * @api
     *
     * @param string $key
     *
     * @return bool
     */
    public function pyzIsFeatureVisible(string $key): bool
    {{
        return in_array($key, ['default', 'b2b'], true);
    }}
}}
""")
        iface = php_file(ns, {f"Spryker\\Client\\{name}\\{name}ClientInterface as Spryker{name}ClientInterface"},
                         f"""interface {name}ClientInterface extends Spryker{name}ClientInterface
{{
    /**
     * Specification:
     * - Tells whether a storefront feature is visible.
     *
     * @api
     *
     * @param string $key
     *
     * @return bool
     */
    public function pyzIsFeatureVisible(string $key): bool;
}}
""")
        return [(f"src/Pyz/Client/{name}/{name}Client.php", client),
                (f"src/Pyz/Client/{name}/{name}ClientInterface.php", iface)]

    def service_module(self, index: int) -> list[tuple[str, str]]:
        name = ["UtilText", "UtilDateTime", "UtilEncoding", "UtilUuidGenerator", "FileSystem", "Flysystem"][index % 6]
        name = name if index < 6 else f"{name}{index}"
        ns = f"Pyz\\Service\\{name}"
        svc = php_file(ns, {f"Spryker\\Service\\{name}\\{name}Service as Spryker{name}Service"}, f"""/**
 * @method \\Spryker\\Service\\{name}\\{name}ServiceFactory getFactory()
 */
class {name}Service extends Spryker{name}Service
{{
    /**
     * @param string $value
     *
     * @return string
     */
    public function pyzNormalize(string $value): string
    {{
        $value = trim($value);
        if ($value === '') {{
            return '';
        }}

        return mb_strtolower(preg_replace('/\\s+/', ' ', $value) ?? $value);
    }}
}}
""")
        return [(f"src/Pyz/Service/{name}/{name}Service.php", svc)]

    def shared_module(self, m: CoreModule) -> list[tuple[str, str]]:
        name = m.name
        ns = f"Pyz\\Shared\\{name}"
        return [(f"src/Pyz/Shared/{name}/{name}Constants.php", php_file(
            ns, {f"{m.namespace}\\Shared\\{name}\\{name}Constants as Spryker{name}Constants"},
            f"""interface {name}Constants extends Spryker{name}Constants
{{
    /**
     * @var string
     */
    public const PYZ_{upper_snake(name)}_FEED_URL = 'PYZ_{upper_snake(name)}:FEED_URL';
}}
"""))]

    def console_dependency_provider(self, commands: list[str]) -> tuple[str, str]:
        """The big console provider real projects have, with the allowed development branch."""
        uses = {"Spryker\\Zed\\Console\\ConsoleDependencyProvider as SprykerConsoleDependencyProvider",
                "Spryker\\Zed\\Kernel\\Container"}
        uses |= set(commands)
        dev = commands[: len(commands) // 4]
        prod = commands[len(commands) // 4:]
        self.injected.miss("dependency-provider-additional-logic")
        body = f"""/**
 * @method \\Pyz\\Zed\\Console\\ConsoleConfig getConfig()
 */
class ConsoleDependencyProvider extends SprykerConsoleDependencyProvider
{{
    /**
     * @param \\Spryker\\Zed\\Kernel\\Container $container
     *
     * @return array<\\Symfony\\Component\\Console\\Command\\Command>
     */
    protected function getConsoleCommands(Container $container): array
    {{
        $commands = [
{indent(chr(10).join(f"new {short(c)}()," for c in prod), 3)}
        ];

        if ($this->getConfig()->isDevelopmentConsoleEnabled()) {{
{indent(chr(10).join(f"$commands[] = new {short(c)}();" for c in dev), 3)}
        }}

        if (class_exists(\\SprykerSdk\\Zed\\Benchmark\\Communication\\Console\\BenchmarkRunConsole::class)) {{
            $commands[] = new \\SprykerSdk\\Zed\\Benchmark\\Communication\\Console\\BenchmarkRunConsole();
        }}

        return $commands;
    }}
}}
"""
        return "src/Pyz/Zed/Console/ConsoleDependencyProvider.php", php_file("Pyz\\Zed\\Console", uses, body)


def emit_project(shop: Shop, rng: random.Random, writer: ProjectWriter, core: list[CoreModule],
                 shop_names: list[str], budget: int) -> int:
    """Project modules in a fixed rotation (Zed, Yves, Glue, Client, Shared, Service) until the budget."""
    emitted = [m for m in core if m.emitted]
    all_stacks = [s for m in emitted for s in m.stacks if s.providers]
    # Overridden modules favour those with plugin stacks, as real projects wire plugins mostly.
    with_stacks = [m for m in emitted if m.stacks]
    others = [m for m in emitted if not m.stacks]
    rng.shuffle(with_stacks)
    rng.shuffle(others)
    zed_queue = with_stacks + others
    client_queue = [m for m in emitted if m.has_client]
    written = 0

    def add(files: list[tuple[str, str]]) -> None:
        nonlocal written
        for path, content in files[: budget - written]:
            shop.add(path, content)
            written += 1

    # The console provider wires a Console command of many modules; they live in core packages.
    add([writer.console_dependency_provider(
        [f"{m.zed}\\Communication\\Console\\{m.name}Console" for m in emitted[:40]])])
    step = 0
    zi = yi = gi = ci = si = vi = 0
    while written < budget:
        slot = step % 10
        step += 1
        if slot < 6 and zi < len(zed_queue):
            m = zed_queue[zi]
            zi += 1
            add(writer.zed_module(m, all_stacks))
            if rng.random() < 0.3:
                # Project transfers and schema extend core ones with new properties/columns.
                shop.add(f"src/Pyz/Shared/{m.name}/Transfer/{snake(m.name)}.transfer.xml",
                         writer.core.transfer_xml([m.entities[0]], {m.entities[0]: ["pyzErpReference", "erpCode"]}))
                shop.add(f"src/Pyz/Zed/{m.name}/Persistence/Propel/Schema/spy_{snake(m.name)}.schema.xml",
                         writer.core.schema_xml(m.name, [m.entities[0]], {m.entities[0]: ["pyz_erp_reference"]},
                                                ["pyz_" + snake(m.name) + "_log"]))
                writer.injected.hit("not-unique-transfer-property")
        elif slot == 6 and yi < len(shop_names):
            add(writer.yves_module(shop_names[yi]))
            yi += 1
        elif slot == 7 and gi < len(emitted):
            add(writer.glue_module(emitted[gi]))
            gi += 1
        elif slot == 8 and ci < len(client_queue):
            add(writer.client_module(client_queue[ci]))
            ci += 1
        elif slot == 9:
            if si < len(emitted) and step % 20 < 10:
                add(writer.shared_module(emitted[si]))
                si += 1
            else:
                add(writer.service_module(vi))
                vi += 1
        elif zi >= len(zed_queue) and yi >= len(shop_names) and gi >= len(emitted) and ci >= len(client_queue) \
                and si >= len(emitted):
            # Everything overridden once; top up with services (unique by index).
            add(writer.service_module(vi))
            vi += 1
    return written


# --------------------------------------------------------------------------------------------------
# Composer, config, deploy.

def composer_files(shop: Shop, packages: list[tuple[str, str, str]], rng: random.Random) -> None:
    """composer.json requires every package; composer.lock pins them. (name, version, namespace root)."""
    require = {"php": ">=8.2"}
    for name, version, _ in packages:
        major, minor, _patch = version.split(".")
        require[name] = f"^{major}.{minor}.0"
    # One spryker package pinned to a dev branch: spryker-dev-package reports it.
    dev_pkg = packages[len(packages) // 2][0]
    require[dev_pkg] = "dev-master as 1.0.0"
    composer_json = {
        "name": "acme/bench-shop",
        "description": "Synthetic Spryker shop for the Upkeep gate benchmark",
        "license": "proprietary",
        "require": dict(sorted(require.items())),
        "autoload": {"psr-4": {"Pyz\\": "src/Pyz/", "Generated\\": "src/Generated/", "Orm\\": "src/Orm/"}},
        "config": {"sort-packages": True, "platform": {"php": "8.2.0"}},
    }
    shop.add("composer.json", json.dumps(composer_json, indent=4) + "\n")
    locked = []
    for name, version, ns_root in packages:
        reference = hashlib.sha1(f"{name}@{version}".encode()).hexdigest()
        prefix = ns_root + "\\"
        locked.append({
            "name": name,
            "version": version,
            "source": {"type": "git", "url": f"https://github.com/{name}.git", "reference": reference},
            "dist": {"type": "zip", "url": f"https://api.github.com/repos/{name}/zipball/{reference}",
                     "reference": reference, "shasum": ""},
            "require": {"php": ">=8.2", "spryker/kernel": "^3.30.0"},
            "type": "library",
            "autoload": {"psr-4": {prefix: f"src/{ns_root}/"}},
            "license": ["proprietary"],
            "time": f"2024-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}T10:00:00+00:00",
        })
    lock = {
        "_readme": ["This file locks the dependencies of your project to a known state"],
        "content-hash": hashlib.md5(json.dumps(composer_json, sort_keys=True).encode()).hexdigest(),
        "packages": locked,
        "packages-dev": [],
        "aliases": [],
        "minimum-stability": "stable",
        "stability-flags": {},
        "prefer-stable": True,
        "prefer-lowest": False,
        "platform": {"php": ">=8.2"},
        "platform-dev": [],
        "plugin-api-version": "2.6.0",
    }
    shop.add("composer.lock", json.dumps(lock, indent=4) + "\n")


def config_files(shop: Shop) -> None:
    shop.add("config/Shared/config_default.php", f"""{HEADER}use Spryker\\Shared\\Kernel\\KernelConstants;
use Spryker\\Shared\\Log\\LogConstants;

$config[KernelConstants::PROJECT_NAMESPACE] = 'Pyz';
$config[KernelConstants::PROJECT_NAMESPACES] = ['Pyz'];
$config[KernelConstants::CORE_NAMESPACES] = [
    'SprykerShop',
    'SprykerEco',
    'Spryker',
    'SprykerSdk',
];

$config[LogConstants::LOG_LEVEL] = getenv('SPRYKER_LOG_LEVEL') ?: 200;
""")
    shop.add("deploy.yml", """version: "1.0"

namespace: bench-shop
tag: "dev"

environment: docker.prod
image: spryker/php:8.2

regions:
  EU:
    services:
      database:
        database: eu-docker
        username: spryker
        password: secret
    stores:
      DE:
        services:
          broker:
            namespace: de-docker
          key_value_store:
            namespace: 1

groups:
  EU:
    region: EU
    applications:
      yves_eu:
        application: yves
        endpoints:
          yves.de.spryker.local:
            store: DE
      glue_eu:
        application: glue
        endpoints:
          glue.de.spryker.local:
            store: DE
      zed_eu:
        application: zed
        endpoints:
          backoffice.de.spryker.local:
            store: DE
""")
    # mago reads this when run in the shop directory; bench/gate.sh also passes the same settings.
    shop.add("mago.toml", """# Written by bench/generate_shop.py so that `mago lint` covers project AND core code,
# the same files `upkeep gate` parses.
php-version = "8.2"

[source]
paths = ["src", "vendor"]
includes = []
excludes = []
""")


# --------------------------------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--project-files", type=int, default=2000, help="PHP files under src/Pyz (default 2000)")
    parser.add_argument("--core-files", type=int, default=30000,
                        help="PHP files under vendor/spryker (default 30000); spryker-shop and spryker-eco add ~1.5%%")
    parser.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    parser.add_argument("--out", type=Path, required=True, help="target directory (replaced if it exists)")
    args = parser.parse_args(argv)
    if args.project_files < 1 or args.core_files < 100:
        parser.error("need at least 1 project file and 100 core files")

    rng = random.Random(args.seed)
    shop = Shop(args.out)
    core_writer = CoreWriter(rng)

    taken: set[str] = set()
    # ~36 PHP files per core package on average; ask for more modules than needed, the budget cuts.
    names = make_module_names(rng, args.core_files // 20 + 10, taken)
    core = build_core_modules(rng, "spryker", "Spryker", names)
    core_count = emit_core(shop, core_writer, core, args.core_files)

    shop_names, eco, extra_count = emit_vendor_extra(
        shop, rng, core_writer, max(10, args.core_files // 100), max(10, args.core_files // 200), taken)

    injected = Injected()
    # Violations go into dependency providers; about one in four overridden Zed modules gets one,
    # which with ~7 files per module and other layers in between is about one in fifty project files.
    project_writer = ProjectWriter(rng, core_writer, injected, violation_rate=0.25)
    project_count = emit_project(shop, rng, project_writer, core + eco, shop_names, args.project_files)

    packages = []
    for m in core + eco:
        if m.emitted:
            packages.append((m.package, m.version, m.namespace))
            if m.stacks:
                packages.append((f"{m.package}-extension", m.version, m.namespace))
    for name in shop_names:
        packages.append((f"spryker-shop/{kebab(name)}", f"1.{rng.randint(0, 20)}.{rng.randint(0, 9)}",
                         "SprykerShop"))
    composer_files(shop, sorted(packages), rng)
    config_files(shop)
    shop.add("bench-manifest.json", json.dumps({
        "seed": args.seed,
        "php_files": {"project": project_count, "vendor_spryker": core_count, "vendor_shop_and_eco": extra_count},
        "injected_findings": dict(sorted(injected.counts.items())),
        "near_misses": dict(sorted(injected.near_misses.items())),
    }, indent=2) + "\n")

    if args.out.exists():
        # Only ever replace a shop this script wrote (or an empty directory), never a real tree.
        if any(args.out.iterdir()) and not (args.out / "bench-manifest.json").is_file():
            parser.error(f"{args.out} exists and is not a generated shop (no bench-manifest.json); "
                         "pick another --out or remove it yourself")
        shutil.rmtree(args.out)
    shop.write()
    total_bytes = sum(len(c.encode()) for c in shop.files.values())
    print(f"wrote {len(shop.files)} files ({total_bytes / 1e6:.1f} MB) to {args.out}: "
          f"{project_count} project PHP, {core_count} vendor/spryker PHP, {extra_count} spryker-shop/eco PHP",
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
