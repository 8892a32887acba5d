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
 *
 * webhook() receives the hub's webhooks (start the hub with
 * -webhook-url https://your.app/gbi/sse/webhook -webhook-secret "$SECRET"): it
 * checks their signature and records who is online, which online() answers.
 * In .env:
 *
 *   SSEHUB_WEBHOOK_SECRET = ...              # the hub's -webhook-secret
 *   SSEHUB_PRESENCE_FILE  = /path/presence.json  # default: in the temp dir
 *
 * Exclude the webhook route from CSRF checks: the signature authenticates it.
 * Who may subscribe is the app's own session's to say, with nothing to mint:
 * see auth() below, ssehub's authorization callback, and page(), login() and
 * logout(), a live page of the logged-in user's orders.
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

    /** How old a signature webhook() accepts, in seconds: a replayed request is refused. */
    public const WEBHOOK_TOLERANCE = 300;

    /**
     * Receives a batch of the hub's webhooks, {"events": [...]}: checks the
     * Ssehub-Signature header, then records who is online. Answers 401 to a
     * request the hub did not sign (or signed with another secret, or too
     * long ago), 2xx once recorded; the hub retries anything else.
     */
    public function webhook(Request $request)
    {
        $secret = (string) env('SSEHUB_WEBHOOK_SECRET', '');
        $body = $request->getContent();
        $signature = (string) $request->header('ssehub-signature', '');
        if ($secret === '' || !self::verifySignature($body, $signature, $secret)) {
            return json(['error' => 'invalid or missing Ssehub-Signature'], 401);
        }
        $batch = json_decode($body, true);
        if (!is_array($batch) || !is_array($batch['events'] ?? null)) {
            return json(['error' => 'expected {"events": [...]}'], 400);
        }
        self::recordPresence($batch['events']);
        return json(['received' => count($batch['events'])]);
    }

    /**
     * Who is online, as the webhooks said: the subscribers (of one topic
     * selector with ?topic=) and the topics that have any.
     */
    public function online(Request $request)
    {
        $topic = (string) $request->param('topic', '');
        $state = self::readPresence();
        $subscribers = [];
        foreach ($state['subscribers'] as $id => $s) {
            if ($topic === '' || in_array($topic, $s['topics'], true)) {
                $subscribers[] = ['subscriber' => (string) $id] + $s;
            }
        }
        $topics = array_map('strval', array_keys($state['topics']));
        return json(['subscribers' => $subscribers, 'topics' => $topics]);
    }

    /**
     * Checks the hub's signature of a webhook body: the header is
     * "t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">" (more than one
     * v1 may come while the secret changes).
     */
    public static function verifySignature(string $body, string $header, string $secret, int $tolerance = self::WEBHOOK_TOLERANCE): bool
    {
        $t = '';
        $signatures = [];
        foreach (explode(',', $header) as $part) {
            [$key, $value] = array_pad(explode('=', trim($part), 2), 2, '');
            if ($key === 't') {
                $t = $value;
            } elseif ($key === 'v1') {
                $signatures[] = $value;
            }
        }
        if (!ctype_digit($t) || abs(time() - (int) $t) > $tolerance) {
            return false;
        }
        $expected = hash_hmac('sha256', $t . '.' . $body, $secret);
        foreach ($signatures as $signature) {
            if (hash_equals($expected, $signature)) {
                return true;
            }
        }
        return false;
    }

    /**
     * Applies events to the presence file, under a lock. An event delivered
     * again (the hub sends at least once) is recognised by its id and skipped.
     */
    protected static function recordPresence(array $events): void
    {
        $fh = fopen(self::presenceFile(), 'c+');
        if ($fh === false) {
            throw new \RuntimeException('cannot open the presence file ' . self::presenceFile());
        }
        flock($fh, LOCK_EX);
        $state = self::decodePresence(stream_get_contents($fh));
        foreach ($events as $e) {
            $id = (string) ($e['id'] ?? '');
            if ($id === '' || isset($state['seen'][$id])) {
                continue;
            }
            $state['seen'][$id] = time();
            switch ($e['type'] ?? '') {
                case 'subscription.started':
                    $state['subscribers'][$e['subscriber']] = [
                        'user'      => $e['user'] ?? null,
                        'payload'   => $e['payload'] ?? null,
                        'topics'    => $e['topics'] ?? [],
                        'client_ip' => $e['client_ip'] ?? null,
                        'since'     => $e['since'] ?? $e['time'],
                    ];
                    break;
                case 'subscription.ended':
                    unset($state['subscribers'][$e['subscriber']]);
                    break;
                case 'topic.occupied':
                    $state['topics'][$e['topic']] = $e['time'];
                    break;
                case 'topic.vacated':
                    unset($state['topics'][$e['topic']]);
                    break;
            }
        }
        // The hub stops retrying long before a day: older ids can go.
        $state['seen'] = array_filter($state['seen'], fn ($at) => $at > time() - 86400);
        ftruncate($fh, 0);
        rewind($fh);
        fwrite($fh, json_encode($state, JSON_UNESCAPED_UNICODE | JSON_UNESCAPED_SLASHES));
        fflush($fh);
        flock($fh, LOCK_UN);
        fclose($fh);
    }

    protected static function readPresence(): array
    {
        $text = @file_get_contents(self::presenceFile());
        return self::decodePresence($text === false ? '' : $text);
    }

    protected static function decodePresence(string $text): array
    {
        $state = json_decode($text, true);
        return [
            'subscribers' => $state['subscribers'] ?? [],
            'topics'      => $state['topics'] ?? [],
            'seen'        => $state['seen'] ?? [],
        ];
    }

    /** In ThinkPHP, runtime_path() . 'ssehub-presence.json' is a good place. */
    protected static function presenceFile(): string
    {
        return (string) env('SSEHUB_PRESENCE_FILE', sys_get_temp_dir() . '/ssehub-presence.json');
    }

    // ---------------------------------------------------------------------
    // Authorization by the app's own session (ssehub -auth-url).
    //
    // Run ssehub with the callback, your site as its CORS origin, and the
    // session's cookie reaches the hub from the page (same site, another
    // port or subdomain):
    //
    //   ssehub -auth-url http://127.0.0.1:8000/sse/auth -cors-origins http://127.0.0.1:8000
    //
    // with routes /sse/page, /sse/login, /sse/logout (GET/POST) and /sse/auth
    // (POST) to the actions below, ThinkPHP's session middleware on
    // (app/middleware.php: \think\middleware\SessionInit::class), and in
    // .env SSEHUB_PUBLIC_URL, the hub's URL as browsers reach it.

    /**
     * ssehub's authorization callback. Before a browser's stream opens, the
     * hub POSTs here with the browser's own Cookie header (so the session is
     * the browser's) the JSON {"action": "subscribe" or "publish", "topics":
     * [...], "client_ip", "origin", "query": {...}}, and grants what this
     * answers, as a Mercure token would: the private updates of the
     * "subscribe" selectors, for "expires_in" seconds, after which it asks
     * again. A 401 or 403 is passed on to the browser with its "error".
     */
    public function auth(Request $request)
    {
        $user = session('user'); // ThinkPHP's session; in plain PHP $_SESSION['user']
        if (!$user) {
            return json(['error' => 'not logged in'], 401);
        }
        return json([
            'user'       => $user,                    // who owns the LLM generations this user starts
            'subscribe'  => ["orders/$user"],         // topics whose private updates this user gets
            'payload'    => ['name' => $user],        // shown to others in active subscriptions
            'expires_in' => 300,                      // asked again then; a logged-out stream ends
        ]);
    }

    /** Logs a user in: a real app checks a password here. */
    public function login(Request $request)
    {
        $name = (string) $request->param('name', '');
        if (!preg_match('/^[a-z0-9_]{1,32}$/', $name)) {
            return json(['error' => 'name: 1 to 32 lower-case letters, digits or _'], 400);
        }
        \think\facade\Session::regenerate(); // a new session id: no answer cached for the old one applies
        session('user', $name);
        return redirect('/sse/page');
    }

    /** Logs the user out: the page's stream is refused from then on. */
    public function logout()
    {
        session('user', null);
        \think\facade\Session::regenerate();
        return redirect('/sse/page');
    }

    /**
     * The live page: a login form, or the user's orders as the hub pushes
     * them. ?topic= subscribes to another topic (its private updates are
     * not this user's to see).
     */
    public function page(Request $request)
    {
        $user = (string) session('user');
        $hub = rtrim((string) env('SSEHUB_PUBLIC_URL', env('SSEHUB_URL', 'http://127.0.0.1:8080')), '/');
        $topic = (string) $request->param('topic', $user === '' ? 'orders/nobody' : "orders/$user");
        $js = fn ($v) => json_encode($v, JSON_HEX_TAG | JSON_HEX_AMP | JSON_UNESCAPED_SLASHES);
        $who = $user === ''
            ? '<form id="login" method="post" action="/sse/login"><input id="name" name="name" placeholder="alice"> <button>Log in</button></form>'
            : '<form id="logout" method="post" action="/sse/logout">Logged in as <b id="user">'
              . htmlspecialchars($user) . '</b> <button>Log out</button></form>';
        return <<<HTML
<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>Orders, live</title><link rel="icon" href="data:,"></head>
<body>
$who
<p id="status" data-state="connecting">connecting…</p>
<ul id="events"></ul>
<script>
const url = {$js($hub)} + '/.well-known/mercure?topic=' + encodeURIComponent({$js($topic)});
const status = document.getElementById('status');
const show = (state, text) => { status.dataset.state = state; status.textContent = text; };
// withCredentials: the browser sends this site's cookies to the hub, which
// asks auth() above with them.
const es = new EventSource(url, { withCredentials: true });
es.onopen = () => show('open', 'live');
es.onmessage = (e) => {
  const li = document.createElement('li');
  li.textContent = e.data;
  document.getElementById('events').append(li);
};
es.onerror = async () => {
  if (es.readyState !== EventSource.CLOSED) return show('connecting', 'reconnecting…');
  // Refused: EventSource does not say why, the hub's answer does.
  const r = await fetch(url, { credentials: 'include' });
  const json = r.headers.get('Content-Type')?.startsWith('application/json');
  const body = json ? await r.json() : (r.body?.cancel(), {});
  show('refused', r.status + ' ' + (body.error || ''));
};
</script>
</body>
</html>
HTML;
    }
}
