<?php
/**
 * The seed demo's ThinkPHP controller with ssehub doing the pushing.
 *
 * The original controller held a PHP worker in a `while (true)` loop for every
 * open page and could not push what receive() was sent. Here the browser
 * subscribes to ssehub itself (new EventSource('http://hub:8080/gbi/sse/search')
 * or '/events?topic=gbi/sse'), and receive() publishes to ssehub with one short
 * HTTP request: no worker is held, and every open page gets the event.
 *
 * Put it in app/gbi/controller/ (named Sse.php with class Sse, unless your
 * app sets 'controller_suffix' => true) and set in .env:
 *
 *   SSEHUB_URL   = http://127.0.0.1:8080      # the hub's root URL
 *   SSEHUB_TOKEN = eyJ...                     # a publisher JWT (ssehub token -key … -publish gbi/sse)
 *
 * Plain PHP streams are used, so the curl extension is not needed.
 */

declare(strict_types=1);

namespace app\gbi\controller;

use app\BaseController;
use think\Request;

class SseController extends BaseController
{
    /** The topic the seed page's stream (/gbi/sse/search) delivers. */
    public const TOPIC = 'gbi/sse';

    /**
     * Receives an event from the page (eventType, message) and publishes it
     * to every subscriber; answers the seed's JSON, with the event's id.
     */
    public function receive(Request $request)
    {
        $eventType = (string) $request->param('eventType', 'message');
        $message = (string) $request->param('message', '默认消息');
        $data = json_encode(['message' => $message, 'time' => date('H:i:s')], JSON_UNESCAPED_UNICODE);
        try {
            $id = $this->publish([self::TOPIC], $data, $eventType === 'message' ? '' : $eventType);
        } catch (\RuntimeException $e) {
            return json(['code' => 502, 'message' => $e->getMessage()], 502);
        }
        return json([
            'code'      => 200,
            'message'   => '事件已发布',
            'eventType' => $eventType,
            'data'      => $message,
            'id'        => $id,
        ]);
    }

    /**
     * Publishes an update to ssehub and returns its event id.
     *
     * @param string[] $topics the update's topics: the first is canonical
     * @throws \RuntimeException when the hub cannot be reached or refuses
     */
    protected function publish(array $topics, string $data, string $type = '', bool $private = false): string
    {
        $body = implode('&', array_map(fn ($t) => 'topic=' . rawurlencode($t), $topics))
            . '&' . http_build_query(array_filter([
                'data'    => $data,
                'type'    => $type,
                'private' => $private ? 'on' : '',
            ], fn ($v) => $v !== ''), '', '&', PHP_QUERY_RFC3986);
        $headers = "Content-Type: application/x-www-form-urlencoded\r\n";
        $token = (string) env('SSEHUB_TOKEN', '');
        if ($token !== '') {
            $headers .= "Authorization: Bearer $token\r\n";
        }
        $url = rtrim((string) env('SSEHUB_URL', 'http://127.0.0.1:8080'), '/') . '/.well-known/mercure';
        $context = stream_context_create(['http' => [
            'method'        => 'POST',
            'header'        => $headers,
            'content'       => $body,
            'timeout'       => 5,
            'ignore_errors' => true, // read the error body of a 4xx/5xx
        ]]);
        $answer = @file_get_contents($url, false, $context);
        if ($answer === false) {
            throw new \RuntimeException("ssehub unreachable at $url");
        }
        $status = 0;
        foreach ($http_response_header ?? [] as $line) {
            if (preg_match('#^HTTP/\S+\s+(\d{3})#', $line, $m)) {
                $status = (int) $m[1];
            }
        }
        if ($status !== 200) {
            $error = json_decode($answer, true)['error'] ?? trim($answer);
            throw new \RuntimeException("ssehub refused the update ($status): $error");
        }
        return trim($answer);
    }
}
