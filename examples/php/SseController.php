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
