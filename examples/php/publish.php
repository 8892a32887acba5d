<?php
/**
 * Publishes an update to ssehub from plain PHP, with PHP's own HTTP streams:
 * no curl extension, no Composer package.
 *
 *   php publish.php TOPIC DATA [TYPE]
 *   SSEHUB_URL=https://hub.example.com SSEHUB_TOKEN="$JWT" php publish.php orders '{"id":42}' notification
 *
 * Prints the event id the hub answers. SSEHUB_URL is the hub's root URL
 * (default http://localhost:8080); SSEHUB_TOKEN, when set, is sent as the
 * publisher's JWT (a hub in open development mode accepts publishes from its
 * own machine without one). Require this file to call ssehub_publish() from
 * your own code.
 */

declare(strict_types=1);

/**
 * Publishes one update and returns its event id.
 *
 * @param string   $hub     the hub's root URL, e.g. http://localhost:8080
 * @param string[] $topics  the update's topics: the first is canonical
 * @param string   $data    the event's data (JSON, text…)
 * @param array    $options type, id, retry (ms), private (bool), token (JWT), timeout (s)
 * @throws RuntimeException when the hub cannot be reached or refuses the update
 */
function ssehub_publish(string $hub, array $topics, string $data, array $options = []): string
{
    // The Mercure form repeats "topic" for each topic; http_build_query
    // would write topic[0]=…, so the topics are encoded by hand.
    $query = [];
    foreach ($topics as $topic) {
        $query[] = 'topic=' . rawurlencode((string) $topic);
    }
    $fields = ['data' => $data];
    foreach (['type', 'id', 'retry'] as $name) {
        if (isset($options[$name]) && $options[$name] !== '') {
            $fields[$name] = (string) $options[$name];
        }
    }
    if (!empty($options['private'])) {
        $fields['private'] = 'on';
    }
    $body = implode('&', $query) . '&' . http_build_query($fields, '', '&', PHP_QUERY_RFC3986);

    $headers = "Content-Type: application/x-www-form-urlencoded\r\n";
    if (!empty($options['token'])) {
        $headers .= 'Authorization: Bearer ' . $options['token'] . "\r\n";
    }
    $context = stream_context_create(['http' => [
        'method'        => 'POST',
        'header'        => $headers,
        'content'       => $body,
        'timeout'       => (float) ($options['timeout'] ?? 10),
        'ignore_errors' => true, // read the body of a 4xx/5xx: it says what was wrong
    ]]);
    $url = rtrim($hub, '/') . '/.well-known/mercure';
    $answer = @file_get_contents($url, false, $context);
    if ($answer === false) {
        $error = error_get_last();
        throw new RuntimeException("ssehub: cannot reach $url: " . ($error['message'] ?? 'unknown error'));
    }
    $status = ssehub_status($http_response_header ?? []);
    if ($status < 200 || $status > 299) {
        $decoded = json_decode($answer, true);
        $message = is_array($decoded) && isset($decoded['error']) ? $decoded['error'] : trim($answer);
        throw new RuntimeException("ssehub: publish refused with status $status: $message", $status);
    }
    return trim($answer);
}

/**
 * Returns the status code of the last response in headers, as PHP's http
 * stream wrapper lists them (redirects included).
 */
function ssehub_status(array $headers): int
{
    $status = 0;
    foreach ($headers as $line) {
        if (preg_match('#^HTTP/\S+\s+(\d{3})#', $line, $m)) {
            $status = (int) $m[1];
        }
    }
    return $status;
}

// Run as a script (not when required by other code).
if (PHP_SAPI === 'cli' && isset($argv[0]) && realpath($argv[0]) === __FILE__) {
    if ($argc < 3) {
        fwrite(STDERR, "usage: php publish.php TOPIC DATA [TYPE]\n");
        exit(2);
    }
    $hub = getenv('SSEHUB_URL') ?: 'http://localhost:8080';
    try {
        echo ssehub_publish($hub, [$argv[1]], $argv[2], [
            'type'  => $argv[3] ?? '',
            'token' => getenv('SSEHUB_TOKEN') ?: '',
        ]), "\n";
    } catch (RuntimeException $e) {
        fwrite(STDERR, $e->getMessage() . "\n");
        exit(1);
    }
}
