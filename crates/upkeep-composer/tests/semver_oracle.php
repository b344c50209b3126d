<?php
// The oracle of tests/differential.rs: answers questions about versions and constraints with
// Composer's own composer/semver (Debian's php-composer-semver, installed with `composer`).
//
// Reads one JSON object per line from stdin and writes one JSON object per line to stdout:
// {"ok": true, "value": ...} or {"ok": false, "error": "..."}. Operations:
//   normalize {v}            VersionParser::normalize
//   stability {v}            VersionParser::parseStability
//   parse {c}                (string) VersionParser::parseConstraints
//   satisfies {v, c}         Semver::satisfies
//   compare {a, op, b}       Comparator::compare on the normalised versions
//   sort {list} / rsort      Semver::sort / Semver::rsort
//   flags {steps, minimum}   RootPackageLoader::extractStabilityFlags, once per step, chained
// The first line written is {"ready": true, "flags": bool}: whether Composer itself (not only
// composer/semver) is installed, which the `flags` operation needs.

ini_set('display_errors', 'stderr');
error_reporting(E_ALL);

$semverAutoload = getenv('UPKEEP_SEMVER_AUTOLOAD') ?: '/usr/share/php/Composer/Semver/autoload.php';
require $semverAutoload;
$composerAutoload = dirname($semverAutoload, 2) . '/autoload.php';
$haveComposer = is_file($composerAutoload);
if ($haveComposer) {
    require_once $composerAutoload;
    $haveComposer = class_exists('Composer\Package\Loader\RootPackageLoader')
        && class_exists('Composer\Package\BasePackage');
}

use Composer\Semver\Comparator;
use Composer\Semver\Semver;
use Composer\Semver\VersionParser;

$flags = JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE | JSON_INVALID_UTF8_SUBSTITUTE;
echo json_encode(['ready' => true, 'flags' => $haveComposer], $flags), "\n";

$parser = new VersionParser();

function answer($request, VersionParser $parser, bool $haveComposer)
{
    switch ($request['op']) {
        case 'normalize':
            return $parser->normalize($request['v']);
        case 'stability':
            return VersionParser::parseStability($request['v']);
        case 'parse':
            return (string) $parser->parseConstraints($request['c']);
        case 'satisfies':
            return Semver::satisfies($request['v'], $request['c']);
        case 'compare':
            return Comparator::compare(
                $parser->normalize($request['a']),
                $request['op_name'],
                $parser->normalize($request['b'])
            );
        case 'sort':
            return Semver::sort($request['list']);
        case 'rsort':
            return Semver::rsort($request['list']);
        case 'flags':
            if (!$haveComposer) {
                throw new \RuntimeException('Composer is not installed');
            }
            $names = array_flip(\Composer\Package\BasePackage::$stabilities);
            $result = [];
            foreach ($request['steps'] as $requires) {
                $result = \Composer\Package\Loader\RootPackageLoader::extractStabilityFlags(
                    (array) $requires,
                    $request['minimum'],
                    $result
                );
            }
            $named = [];
            foreach ($result as $name => $stability) {
                $named[] = [(string) $name, $names[$stability]];
            }
            return $named;
    }
    throw new \InvalidArgumentException('unknown operation ' . $request['op']);
}

while (($line = fgets(STDIN)) !== false) {
    $request = json_decode($line, true);
    try {
        $response = ['ok' => true, 'value' => answer($request, $parser, $haveComposer)];
    } catch (\Throwable $error) {
        $response = ['ok' => false, 'error' => get_class($error) . ': ' . $error->getMessage()];
    }
    echo json_encode($response, $flags), "\n";
}
