// i18n: the console's translation tables and the functions that apply them.
// Every visible string goes through t(); elements carry data-i18n (text),
// data-i18n-placeholder and data-i18n-title attributes naming a key.

const STORAGE_KEY = 'ssehub.lang';
export const LANGS = ['zh-CN', 'en'];

const tables = {
  'zh-CN': {
    'banner.openDev': '开放开发模式：未配置 JWT 密钥，任何人都可订阅，仅本机 (127.0.0.1) 可以发布。上线前请设置 -jwt-key。',
    'title': 'ssehub 控制台',
    'subtitle': '遵循 Mercure 协议的 Server-Sent Events 中心',
    'lang.switch': 'English',
    'lang.switchTitle': 'Switch to English',
    'card.connection': '连接控制',
    'card.send': '发送事件',
    'card.log': '事件日志',
    'card.about': '说明',
    'card.chat': '发送至大模型',
    'status.connected': '已连接',
    'status.connecting': '连接中…',
    'status.reconnecting': '重新连接中…',
    'status.disconnected': '未连接',
    'btn.connect': '连接',
    'btn.disconnect': '断开',
    'btn.send': '发送事件',
    'btn.clear': '清空',
    'label.lastId': '最后事件 ID',
    'label.online': '在线订阅者',
    'label.topic': '主题',
    'hint.topic': '多个主题用逗号或空格分隔；发送事件发布到第一个主题。',
    'label.eventType': '事件类型',
    'label.customType': '自定义事件类型',
    'label.customMessage': '自定义消息（可选）',
    'placeholder.customType': '例如 order-created',
    'placeholder.customMessage': '输入自定义消息内容',
    'type.message': '普通消息',
    'type.notification': '通知',
    'type.alert': '警报',
    'type.update': '数据更新',
    'type.custom': '自定义类型…',
    'msg.default': '这是一条{type}类型的测试消息',
    'ev.message': '消息',
    'ev.notification': '通知',
    'ev.alert': '警报',
    'ev.update': '数据更新',
    'field.time': '时间',
    'field.priority': '优先级',
    'field.level': '级别',
    'field.id': 'ID',
    'sys.loaded': '页面已加载，点击“连接”开始接收事件。',
    'sys.connecting': '正在连接主题 {topics}',
    'sys.resume': '从事件 {id} 之后继续接收',
    'sys.open': '连接已建立',
    'sys.lost': '连接中断，正在重连…',
    'sys.retry': '连接失败，稍后重试（第 {attempt} 次）：{error}',
    'sys.refused': '连接被拒绝：{error}',
    'sys.gap': '服务器的历史已不再包含事件 {id} 之后的全部事件，部分事件可能已丢失',
    'sys.closed': '连接已关闭',
    'sys.published': '已发布 id {id}（{type} → {topic}）',
    'err.publish': '发布失败：{error}',
    'err.publishField': '发布失败：{error}（字段：{field}）',
    'err.badType': '事件类型无效：只能使用字母、数字、“-”、“_”、“.”、“:”，最多 64 个字符',
    'about.intro': '这个控制台连接到 ssehub：订阅主题、发布事件，并实时显示服务器推送的事件。',
    'about.subscribe': '订阅：GET /events?topic=…，断线后凭 Last-Event-ID 自动续传。',
    'about.publish': '发布：POST /publish，JSON 请求体 {"topic", "type", "data"}，返回新事件的 id。',
    'about.mercure': 'Mercure 协议端点：/.well-known/mercure。',
    'about.reload': '刷新页面不会丢失连接状态与日志：控制台会自动重连并补上错过的事件。',
    'about.llm': '大模型：POST /llm/generations 开始回答，每个 token 作为事件发布到这次生成自己的主题；刷新页面后，控制台从快照和 lastEventID 接着显示。',
    'btn.chatNew': '新对话',
    'btn.ask': '发送',
    'btn.stop': '停止',
    'label.model': '模型',
    'label.prompt': '问题',
    'placeholder.prompt': '向模型提问…',
    'hint.chat': 'Enter 发送，Shift+Enter 换行',
    'chat.empty': '还没有对话。提一个问题，答案会在生成的同时逐字显示。',
    'chat.modelDefault': '默认模型',
    'chat.reason.stop': '已完成',
    'chat.reason.length': '已达长度上限',
    'chat.reason.stopped': '已停止',
    'chat.usage': '{reason} · {completion} 个 token（提示 {prompt}，共 {total}）',
    'chat.failed': '生成失败：{error}',
    'chat.err.start': '无法开始回答：{error}',
    'chat.err.field': '无法开始回答：{error}（字段：{field}）',
    'chat.err.busy': '模型正忙，请 {seconds} 秒后再试',
    'chat.err.network': '网络错误：{error}',
    'chat.err.lost': '服务器上已没有这次回答，无法继续：{error}',
    'nav.stats': '实时统计',
    'nav.console': '控制台',
    'stats.title': 'ssehub 实时统计',
    'stats.heading': 'ssehub 实时统计',
    'stats.subtitle': '每秒更新一次，数据来自 hub 自己的 SSE 流 $ssehub/stats',
    'stats.card.overview': '概览',
    'stats.card.rates': '事件速率（每秒）',
    'stats.card.connections': '在线连接',
    'stats.card.slow': '慢订阅者',
    'stats.card.topics': '热门主题',
    'stats.connections': '在线连接',
    'stats.in': '流入事件/秒',
    'stats.out': '流出事件/秒',
    'stats.slow': '慢订阅者（累计断开）',
    'stats.subscribers': '订阅',
    'stats.llm': '运行中的生成 / 准入上限',
    'stats.lateness': '令牌延迟 p99（毫秒）',
    'stats.webhooks': '待发送的 Webhook',
    'stats.webhooks.failing': '{queued} · 发送失败',
    'stats.col.topic': '主题',
    'stats.col.subscribers': '订阅数',
    'stats.topics.empty': '暂无订阅',
    'stats.topics.other': '另有 {count} 个主题，共 {subs} 个订阅',
    'stats.series.in': '流入',
    'stats.series.out': '流出',
    'stats.series.connections': '连接',
    'stats.series.slow': '累计断开',
    'stats.state.connecting': '连接中…',
    'stats.state.live': '实时',
    'stats.state.lost': '连接中断，正在重连…',
    'stats.state.denied': '无法订阅统计流（JWT 模式下令牌须允许订阅 $ssehub/stats），稍后重试',
    'stats.updated': '更新于 {time}',
  },
  'en': {
    'banner.openDev': 'Open development mode: no JWT key is configured; anyone may subscribe and only this machine (127.0.0.1) may publish. Set -jwt-key before going live.',
    'title': 'ssehub console',
    'subtitle': 'A Server-Sent Events hub speaking the Mercure protocol',
    'lang.switch': '中文',
    'lang.switchTitle': '切换到中文',
    'card.connection': 'Connection',
    'card.send': 'Send an event',
    'card.log': 'Event log',
    'card.about': 'About',
    'card.chat': 'Ask the model',
    'status.connected': 'Connected',
    'status.connecting': 'Connecting…',
    'status.reconnecting': 'Reconnecting…',
    'status.disconnected': 'Disconnected',
    'btn.connect': 'Connect',
    'btn.disconnect': 'Disconnect',
    'btn.send': 'Send event',
    'btn.clear': 'Clear',
    'label.lastId': 'Last event ID',
    'label.online': 'Subscribers online',
    'label.topic': 'Topics',
    'hint.topic': 'Separate several topics with commas or spaces; events are published to the first one.',
    'label.eventType': 'Event type',
    'label.customType': 'Custom event type',
    'label.customMessage': 'Custom message (optional)',
    'placeholder.customType': 'e.g. order-created',
    'placeholder.customMessage': 'Type a custom message',
    'type.message': 'Message',
    'type.notification': 'Notification',
    'type.alert': 'Alert',
    'type.update': 'Data update',
    'type.custom': 'Custom type…',
    'msg.default': 'This is a test message of type {type}',
    'ev.message': 'Message',
    'ev.notification': 'Notification',
    'ev.alert': 'Alert',
    'ev.update': 'Update',
    'field.time': 'time',
    'field.priority': 'priority',
    'field.level': 'level',
    'field.id': 'ID',
    'sys.loaded': 'Page loaded; click “Connect” to start receiving events.',
    'sys.connecting': 'Connecting to topics {topics}',
    'sys.resume': 'Resuming after event {id}',
    'sys.open': 'Connection established',
    'sys.lost': 'Connection lost; reconnecting…',
    'sys.retry': 'Connection failed; retrying soon (attempt {attempt}): {error}',
    'sys.refused': 'Connection refused: {error}',
    'sys.gap': 'The hub’s history no longer holds all events after {id}: some may be lost',
    'sys.closed': 'Connection closed',
    'sys.published': 'Published id {id} ({type} → {topic})',
    'err.publish': 'Publish failed: {error}',
    'err.publishField': 'Publish failed: {error} (field: {field})',
    'err.badType': 'Invalid event type: use letters, digits, “-”, “_”, “.”, “:”, at most 64 characters',
    'about.intro': 'This console talks to ssehub: subscribe to topics, publish events and watch what the server pushes, live.',
    'about.subscribe': 'Subscribe: GET /events?topic=…; after a drop it resumes with Last-Event-ID.',
    'about.publish': 'Publish: POST /publish with a JSON body {"topic", "type", "data"}; the answer is the new event id.',
    'about.mercure': 'Mercure protocol endpoint: /.well-known/mercure.',
    'about.reload': 'Reloading keeps the connection state and the log: the console reconnects and fills in the events it missed.',
    'about.llm': 'Large model: POST /llm/generations starts an answer whose tokens are published as events to a topic of its own; after a reload the console goes on from the snapshot and lastEventID.',
    'btn.chatNew': 'New conversation',
    'btn.ask': 'Send',
    'btn.stop': 'Stop',
    'label.model': 'Model',
    'label.prompt': 'Question',
    'placeholder.prompt': 'Ask the model something…',
    'hint.chat': 'Enter sends, Shift+Enter starts a new line',
    'chat.empty': 'No conversation yet. Ask a question and watch the answer appear as it is generated.',
    'chat.modelDefault': 'Default model',
    'chat.reason.stop': 'Done',
    'chat.reason.length': 'Length limit reached',
    'chat.reason.stopped': 'Stopped',
    'chat.usage': '{reason} · {completion} tokens (prompt {prompt}, total {total})',
    'chat.failed': 'Generation failed: {error}',
    'chat.err.start': 'Could not start the answer: {error}',
    'chat.err.field': 'Could not start the answer: {error} (field: {field})',
    'chat.err.busy': 'The model is busy; try again in {seconds}s',
    'chat.err.network': 'Network error: {error}',
    'chat.err.lost': 'The server no longer has this answer, so it cannot go on: {error}',
    'nav.stats': 'Live stats',
    'nav.console': 'Console',
    'stats.title': 'ssehub live stats',
    'stats.heading': 'ssehub live stats',
    'stats.subtitle': 'Updated every second from the hub’s own SSE stream $ssehub/stats',
    'stats.card.overview': 'Overview',
    'stats.card.rates': 'Events per second',
    'stats.card.connections': 'Open connections',
    'stats.card.slow': 'Slow subscribers',
    'stats.card.topics': 'Top topics',
    'stats.connections': 'Open connections',
    'stats.in': 'Events in/s',
    'stats.out': 'Events out/s',
    'stats.slow': 'Slow subscribers cut off',
    'stats.subscribers': 'Subscriptions',
    'stats.llm': 'Generations running / admitted at most',
    'stats.lateness': 'Token lateness p99 (ms)',
    'stats.webhooks': 'Webhooks queued',
    'stats.webhooks.failing': '{queued} · failing',
    'stats.col.topic': 'Topic',
    'stats.col.subscribers': 'Subscriptions',
    'stats.topics.empty': 'No subscriptions yet',
    'stats.topics.other': '{count} more topics with {subs} subscriptions in all',
    'stats.series.in': 'In',
    'stats.series.out': 'Out',
    'stats.series.connections': 'Connections',
    'stats.series.slow': 'Cut off (total)',
    'stats.state.connecting': 'Connecting…',
    'stats.state.live': 'Live',
    'stats.state.lost': 'Connection lost; reconnecting…',
    'stats.state.denied': 'Cannot subscribe to the stats stream (in JWT mode the token must allow $ssehub/stats); retrying soon',
    'stats.updated': 'Updated at {time}',
  },
};

let current = pickInitial();
const listeners = [];

function pickInitial() {
  try {
    const saved = localStorage.getItem(STORAGE_KEY);
    if (LANGS.includes(saved)) return saved;
  } catch (e) { /* storage may be disabled */ }
  return 'zh-CN';
}

// lang returns the current language tag.
export function lang() { return current; }

// t translates key, replacing {name} placeholders with params[name].
export function t(key, params) {
  const s = tables[current][key] ?? tables['zh-CN'][key] ?? key;
  if (!params) return s;
  return s.replace(/\{(\w+)\}/g, (m, name) => (name in params ? String(params[name]) : m));
}

// has reports whether key is in the tables.
export function has(key) { return key in tables['zh-CN']; }

// apply translates every element under root that names a key.
export function apply(root = document) {
  document.documentElement.lang = current;
  document.title = t('title');
  root.querySelectorAll('[data-i18n]').forEach((el) => { el.textContent = t(el.dataset.i18n); });
  root.querySelectorAll('[data-i18n-placeholder]').forEach((el) => {
    el.placeholder = t(el.dataset.i18nPlaceholder);
  });
  root.querySelectorAll('[data-i18n-title]').forEach((el) => { el.title = t(el.dataset.i18nTitle); });
}

// setLang switches language, remembers the choice and re-renders.
export function setLang(l) {
  if (!LANGS.includes(l)) return;
  current = l;
  try { localStorage.setItem(STORAGE_KEY, l); } catch (e) { /* ignore */ }
  apply();
  listeners.forEach((fn) => fn(l));
}

// toggle switches between Chinese and English.
export function toggle() { setLang(current === 'en' ? 'zh-CN' : 'en'); }

// onChange registers fn to run after every language switch.
export function onChange(fn) { listeners.push(fn); }
