<?php
/**
 * Publishes to ssehub with symfony/mercure, the PHP library behind Symfony's
 * MercureBundle and Laravel's Mercure broadcasters: code written for a
 * Mercure hub works with ssehub unchanged.
 *
 *   composer require symfony/mercure        # or: apt-get install php-symfony-mercure
 *   SSEHUB_JWT_KEY=secret php symfony-mercure.php TOPIC DATA [TYPE] [private]
 *
 * Prints the event id the hub answers. SSEHUB_URL is the hub's root URL
 * (default http://localhost:8080); SSEHUB_JWT_KEY is the hub's -jwt-key (an
 * HMAC secret), from which each publish signs a short-lived token allowing
 * the topics it publishes to, as MercureBundle's token factory does.
 */

declare(strict_types=1);

foreach ([__DIR__ . '/vendor/autoload.php', '/usr/share/php/Symfony/Component/Mercure/autoload.php'] as $autoload) {
    if (is_file($autoload)) {
        require $autoload;
        break;
    }
}

use Symfony\Component\Mercure\Hub;
use Symfony\Component\Mercure\Jwt\CallableTokenProvider;
use Symfony\Component\Mercure\Update;

/**
 * Signs an HS256 JWT whose mercure.publish claim lists $topics.
 *
 * @param string[] $topics
 */
function mercure_publisher_jwt(string $key, array $topics, int $ttl = 60): string
{
    $b64 = static fn (string $s): string => rtrim(strtr(base64_encode($s), '+/', '-_'), '=');
    $header = $b64(json_encode(['alg' => 'HS256', 'typ' => 'JWT']));
    $claims = $b64(json_encode(['exp' => time() + $ttl, 'mercure' => ['publish' => $topics]]));
    return "$header.$claims." . $b64(hash_hmac('sha256', "$header.$claims", $key, true));
}

if (realpath($_SERVER['SCRIPT_FILENAME'] ?? '') !== __FILE__) {
    return; // required as a library
}
if ($argc < 3) {
    fwrite(STDERR, "usage: php symfony-mercure.php TOPIC DATA [TYPE] [private]\n");
    exit(2);
}
[, $topic, $data] = $argv;
$type = $argv[3] ?? null;
$private = ($argv[4] ?? '') === 'private';

$base = rtrim(getenv('SSEHUB_URL') ?: 'http://localhost:8080', '/');
$key = (string) getenv('SSEHUB_JWT_KEY');
$hub = new Hub(
    $base . '/.well-known/mercure',
    new CallableTokenProvider(static fn (): string => mercure_publisher_jwt($key, [$topic])),
);

try {
    echo $hub->publish(new Update($topic, $data, $private, null, $type !== '' ? $type : null)), "\n";
} catch (\Throwable $e) {
    // The library wraps the HTTP error; the hub's answer names the problem.
    $cause = $e->getPrevious();
    $answer = '';
    if ($cause instanceof \Symfony\Contracts\HttpClient\Exception\HttpExceptionInterface) {
        $answer = ': ' . $cause->getResponse()->getContent(false);
    }
    fwrite(STDERR, 'publish failed: ' . $e->getMessage() . ($cause ? ' (' . $cause->getMessage() . ')' : '') . $answer . "\n");
    exit(1);
}
