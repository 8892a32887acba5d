// markdown: a small renderer for the Markdown a model writes. It builds DOM
// nodes with createElement and textContent only, so nothing in the text can
// become markup: raw HTML shows as text, and links keep only http, https and
// mailto addresses. It covers headings, paragraphs (a newline is a line
// break), bullet and numbered lists, fenced code, block quotes, rules,
// inline code, bold, italic, strike-through and links. Unclosed constructs,
// as in an answer still streaming, show as the text they are.

const FENCE = /^ {0,3}(`{3,}|~{3,})[ \t]*([^`\s]*)[^`]*$/;
const HEADING = /^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$/;
const RULE = /^ {0,3}([-*_])(?:[ \t]*\1){2,}[ \t]*$/;
const ITEM = /^( {0,3})([-*+]|\d{1,9}[.)])(?:[ \t]+(.*)|[ \t]*$)/;
const QUOTE = /^ {0,3}>[ ]?(.*)$/;
const LANG = /^[\w+#.-]{1,32}$/;
const SAFE_URL = /^(?:https?:\/\/|mailto:)[^\s\u0000-\u001f\u007f]+$/i;
const AUTOLINK = /^<((?:https?:\/\/|mailto:)[^\s<>\u0000-\u001f]+)>/i;
const PUNCT = /[!-/:-@[-`{-~]/;
const WORD = /[\p{L}\p{N}]/u;

function el(tag, text) {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = text;
  return e;
}

// render turns Markdown text into a DocumentFragment.
export function render(text) {
  const frag = document.createDocumentFragment();
  blocks(String(text ?? '').replace(/\r\n?/g, '\n').split('\n'), frag);
  return frag;
}

function indentOf(line) { return line.match(/^[ \t]*/)[0].replace(/\t/g, '    ').length; }

function isItem(line, inParagraph) {
  const m = ITEM.exec(line);
  // Inside a paragraph only a list starting at 1 (or a bullet) with text begins a list.
  return !!m && (!inParagraph || (!!m[3] && (!/\d/.test(m[2]) || /^1[.)]$/.test(m[2]))));
}

function startsBlock(line, inParagraph) {
  return FENCE.test(line) || HEADING.test(line) || RULE.test(line) || QUOTE.test(line) || isItem(line, inParagraph);
}

// blocks appends the blocks of lines to parent.
function blocks(lines, parent) {
  let i = 0;
  while (i < lines.length) {
    const line = lines[i];
    let m;
    if (!line.trim()) {
      i++;
    } else if ((m = FENCE.exec(line))) {
      i = fence(lines, i, m, parent);
    } else if ((m = HEADING.exec(line))) {
      const h = el('h' + m[1].length);
      inline(m[2] || '', h);
      parent.append(h);
      i++;
    } else if (RULE.test(line)) {
      parent.append(el('hr'));
      i++;
    } else if (QUOTE.test(line)) {
      i = quote(lines, i, parent);
    } else if (isItem(line, false)) {
      i = list(lines, i, parent);
    } else {
      i = paragraph(lines, i, parent);
    }
  }
}

function fence(lines, start, m, parent) {
  const mark = m[1];
  const close = new RegExp('^ {0,3}' + mark[0] + '{' + mark.length + ',}[ \\t]*$');
  const body = [];
  let i = start + 1;
  while (i < lines.length && !close.test(lines[i])) body.push(lines[i++]);
  const pre = el('pre');
  const code = el('code', body.join('\n'));
  if (LANG.test(m[2])) {
    code.className = 'language-' + m[2];
    pre.dataset.lang = m[2];
  }
  pre.append(code);
  parent.append(pre);
  return i + 1; // past the closing fence, or the end of an unclosed block
}

function paragraph(lines, start, parent) {
  const text = [];
  let i = start;
  while (i < lines.length && lines[i].trim() && (i === start || !startsBlock(lines[i], true))) {
    text.push(lines[i++].trim());
  }
  const p = el('p');
  inline(text.join('\n'), p);
  parent.append(p);
  return i;
}

function quote(lines, start, parent) {
  const inner = [];
  let i = start;
  for (; i < lines.length && lines[i].trim(); i++) {
    const m = QUOTE.exec(lines[i]);
    if (m) inner.push(m[1]);
    else if (!startsBlock(lines[i], true)) inner.push(lines[i]); // a lazy continuation line
    else break;
  }
  const bq = el('blockquote');
  blocks(inner, bq);
  parent.append(bq);
  return i;
}

// markOf names a list marker's kind: "-", "*", "+", "." or ")".
function markOf(marker) { return marker.slice(-1); }

function list(lines, start, parent) {
  const first = ITEM.exec(lines[start]);
  const kind = markOf(first[2]);
  const ordered = kind === '.' || kind === ')';
  const box = el(ordered ? 'ol' : 'ul');
  const n = parseInt(first[2], 10);
  if (ordered && n !== 1) box.start = n;
  let i = start;
  while (i < lines.length) {
    const m = ITEM.exec(lines[i]);
    if (!m || markOf(m[2]) !== kind) break;
    const width = Math.min(m[1].length + m[2].length + 1, 4); // where the item's text starts
    const body = [m[3] || ''];
    i++;
    for (; i < lines.length; i++) {
      const line = lines[i];
      if (!line.trim()) {
        let j = i;
        while (j < lines.length && !lines[j].trim()) j++;
        if (j === lines.length || indentOf(lines[j]) < 2) break;
        body.push('');
      } else if (indentOf(line) >= 2) {
        body.push(line.replace(new RegExp('^[ \\t]{1,' + width + '}'), ''));
      } else if (body[body.length - 1] !== '' && !startsBlock(line, true) && !ITEM.test(line)) {
        body.push(line); // a lazy continuation of the item's paragraph
      } else {
        break;
      }
    }
    box.append(item(body));
    // Blank lines between items keep the list going.
    let j = i;
    while (j < lines.length && !lines[j].trim()) j++;
    const next = j < lines.length ? ITEM.exec(lines[j]) : null;
    if (j > i && next && markOf(next[2]) === kind) i = j;
  }
  parent.append(box);
  return i;
}

// item renders a list item: its first lines inline, what follows as blocks.
function item(body) {
  const li = el('li');
  let k = 0;
  while (k < body.length && body[k].trim() && (k === 0 || !(startsBlock(body[k], true) || ITEM.test(body[k])))) k++;
  inline(body.slice(0, k).map((l) => l.trim()).join('\n'), li);
  blocks(body.slice(k), li);
  return li;
}

// inline appends the inline content of src to parent.
function inline(src, parent, inLink = false) {
  let buf = '';
  const flush = () => {
    if (buf) parent.append(buf);
    buf = '';
  };
  const put = (node, end) => {
    flush();
    parent.append(node);
    return end;
  };
  let i = 0;
  while (i < src.length) {
    const c = src[i];
    let r = null;
    if (c === '\\' && i + 1 < src.length && PUNCT.test(src[i + 1])) {
      buf += src[i + 1];
      i += 2;
      continue;
    }
    if (c === '\n') r = { node: el('br'), end: i + 1 };
    else if (c === '`') r = codeSpan(src, i);
    else if (c === '*' || c === '_' || c === '~') r = emphasis(src, i, inLink);
    else if (!inLink && (c === '[' || (c === '!' && src[i + 1] === '['))) r = link(src, c === '!' ? i + 1 : i, i);
    else if (!inLink && c === '<') r = autolink(src, i);
    if (r) {
      i = put(r.node, r.end);
    } else {
      const run = c === '`' || c === '*' || c === '_' || c === '~' ? runOf(src, i) : 1;
      buf += src.slice(i, i + run);
      i += run;
    }
  }
  flush();
}

function runOf(src, i) {
  let j = i;
  while (j < src.length && src[j] === src[i]) j++;
  return j - i;
}

function codeSpan(src, i) {
  const n = runOf(src, i);
  for (let j = src.indexOf('`', i + n); j >= 0; j = src.indexOf('`', j + runOf(src, j))) {
    if (runOf(src, j) !== n) continue;
    let text = src.slice(i + n, j).replace(/\n/g, ' ');
    if (/^ .*[^ ].* $/.test(text)) text = text.slice(1, -1);
    return { node: el('code', text), end: j + n };
  }
  return null;
}

// emphasis parses **bold**, __bold__, *italic*, _italic_ or ~~struck~~ at i.
function emphasis(src, i, inLink) {
  const c = src[i];
  const n = runOf(src, i);
  if (c === '~' && n !== 2) return null;
  if (c === '_' && i > 0 && WORD.test(src[i - 1])) return null; // snake_case stays text
  const size = c === '~' || n >= 2 ? 2 : 1;
  const open = i + size;
  if (open >= src.length || /\s/.test(src[open])) return null;
  const delim = c.repeat(size);
  for (let j = src.indexOf(delim, open + 1); j >= 0; j = src.indexOf(delim, j + 1)) {
    let end = j;
    if (size === 2) end = j + runOf(src, j) - 2; // the last two of a run: ***x*** is <strong><em>x</em></strong>
    else if (runOf(src, j) !== 1 || src[j - 1] === c) continue; // a single delimiter only
    if (/\s/.test(src[end - 1])) continue;
    if (c === '_' && end + size < src.length && WORD.test(src[end + size])) continue;
    const node = el(c === '~' ? 'del' : size === 2 ? 'strong' : 'em');
    inline(src.slice(open, end), node, inLink);
    return { node, end: end + size };
  }
  return null;
}

// link parses [text](url "title") at i (an image's ![alt](url) from start
// becomes a link too). An address other than http, https or mailto gives no
// link: the source shows as it is.
function link(src, i, start) {
  let depth = 0;
  let close = -1;
  for (let j = i; j < src.length; j++) {
    if (src[j] === '\\') j++;
    else if (src[j] === '[') depth++;
    else if (src[j] === ']' && --depth === 0) { close = j; break; }
  }
  if (close < 0 || src[close + 1] !== '(') return null;
  const dest = destination(src, close + 2);
  if (!dest) return null;
  if (!SAFE_URL.test(dest.url)) {
    return { node: document.createTextNode(src.slice(start, dest.end)), end: dest.end };
  }
  const a = anchor(dest.url);
  inline(src.slice(i + 1, close), a, true);
  return { node: a, end: dest.end };
}

// destination reads a link's "url" or "url "title"" up to its closing parenthesis.
function destination(src, i) {
  const m = /^[ \t]*(?:<([^<>\n]*)>|((?:[^\s()\\]|\\.|\((?:[^\s()\\]|\\.)*\))*))(?:[ \t]+(?:"[^"]*"|'[^']*'))?[ \t]*\)/.exec(src.slice(i));
  if (!m) return null;
  const url = (m[1] ?? m[2]).replace(/\\([!-/:-@[-`{-~])/g, '$1');
  return { url, end: i + m[0].length };
}

function autolink(src, i) {
  const m = AUTOLINK.exec(src.slice(i));
  if (!m) return null;
  return { node: anchor(m[1], m[1]), end: i + m[0].length };
}

function anchor(url, text) {
  const a = el('a', text);
  a.href = url;
  a.rel = 'noopener noreferrer';
  a.target = '_blank';
  return a;
}
