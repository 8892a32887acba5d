package e2e

import "testing"

// TestMarkdownIsSafe renders hostile and ordinary Markdown with the console's
// renderer: markup in the text must stay text, and links keep only http,
// https and mailto addresses.
func TestMarkdownIsSafe(t *testing.T) {
	srv := startServer(t, serverOptions{})
	b := newBrowser(t)
	tb := b.tab("markdown")
	tb.openConsole(srv)
	tb.waitFor("the renderer", `typeof window.ssehubMarkdown?.render === 'function'`)
	const render = `((md) => {
		const host = document.createElement('div');
		host.append(window.ssehubMarkdown.render(md));
		host.normalize();
		const hrefs = [...host.querySelectorAll('[href], [src]')].map((e) => e.getAttribute('href') || e.getAttribute('src'));
		return { html: host.innerHTML, text: host.textContent, bad: host.querySelectorAll('img, script, b, iframe, style, [onerror], [onclick]').length,
			unsafe: hrefs.filter((h) => !/^(https?:\/\/|mailto:)/i.test(h)) };
	})`
	type rendered struct {
		HTML   string   `json:"html"`
		Text   string   `json:"text"`
		Bad    int      `json:"bad"`
		Unsafe []string `json:"unsafe"`
	}
	tests := []struct{ name, md, html string }{
		{"img", `<img src=x onerror=alert(1)>`, `<p>&lt;img src=x onerror=alert(1)&gt;</p>`},
		{"script", "<script>alert(1)</script>\n\n<b>x</b>", `<p>&lt;script&gt;alert(1)&lt;/script&gt;</p><p>&lt;b&gt;x&lt;/b&gt;</p>`},
		{"javascript link", `[x](javascript:alert(1))`, `<p>[x](javascript:alert(1))</p>`},
		{"mixed-case scheme", `[x]( JaVaScRiPt:alert(1) "t")`, `<p>[x]( JaVaScRiPt:alert(1) "t")</p>`},
		{"data link", `[x](data:text/html,<script>alert(1)</script>)`, `<p>[x](data:text/html,&lt;script&gt;alert(1)&lt;/script&gt;)</p>`},
		{"autolink", `<javascript:alert(1)> <https://example.com/a>`, `<p>&lt;javascript:alert(1)&gt; <a href="https://example.com/a" rel="noopener noreferrer" target="_blank">https://example.com/a</a></p>`},
		{"image", `![alt <i>](https://example.com/x.png)`, `<p><a href="https://example.com/x.png" rel="noopener noreferrer" target="_blank">alt &lt;i&gt;</a></p>`},
		{"bold html", `**<b>bold</b>**`, `<p><strong>&lt;b&gt;bold&lt;/b&gt;</strong></p>`},
		{"code html", "`<img src=x>`\n\n```html\n<script>alert(1)</script>\n```", `<p><code>&lt;img src=x&gt;</code></p><pre data-lang="html"><code class="language-html">&lt;script&gt;alert(1)&lt;/script&gt;</code></pre>`},
		{"fence info", "```\" onmouseover=\"alert(1)\n<b>\n```", `<pre><code>&lt;b&gt;</code></pre>`},
		{"entities", `&lt;b&gt; &amp;`, `<p>&amp;lt;b&amp;gt; &amp;amp;</p>`},
		{"sample", "## 标题 *一*\n\n段落 **粗体** 与 *斜体*、`code`、[链接](https://example.com/a?b=1&c=2)。\n第二行 snake_case_name\n\n" +
			"- 一\n- **二**\n  - 嵌套\n\n3. 三\n4. 四\n\n> 引用\n> 第二行\n\n```go\nfmt.Println(\"<b>\")\n```\n\n---\n\n***全部*** ~~删~~ \\*字面\\* [邮件](mailto:a@example.com)",
			`<h2>标题 <em>一</em></h2>` +
				`<p>段落 <strong>粗体</strong> 与 <em>斜体</em>、<code>code</code>、<a href="https://example.com/a?b=1&amp;c=2" rel="noopener noreferrer" target="_blank">链接</a>。<br>第二行 snake_case_name</p>` +
				`<ul><li>一</li><li><strong>二</strong><ul><li>嵌套</li></ul></li></ul>` +
				`<ol start="3"><li>三</li><li>四</li></ol>` +
				`<blockquote><p>引用<br>第二行</p></blockquote>` +
				`<pre data-lang="go"><code class="language-go">fmt.Println("&lt;b&gt;")</code></pre>` +
				`<hr>` +
				`<p><strong><em>全部</em></strong> <del>删</del> *字面* <a href="mailto:a@example.com" rel="noopener noreferrer" target="_blank">邮件</a></p>`},
		{"streaming", "**未完\n\n- 项\n\n```py\nprint(1)", `<p>**未完</p><ul><li>项</li></ul><pre data-lang="py"><code class="language-py">print(1)</code></pre>`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := eval[rendered](tb, render+`(`+jsString(tt.md)+`)`)
			if got.HTML != tt.html {
				t.Errorf("render(%q)\n got %s\nwant %s", tt.md, got.HTML, tt.html)
			}
			if got.Bad != 0 || len(got.Unsafe) != 0 {
				t.Errorf("render(%q) made %d unsafe elements and the addresses %q", tt.md, got.Bad, got.Unsafe)
			}
		})
	}
	if n := eval[int](tb, `document.querySelectorAll('img, script:not([src])').length`); n != 0 {
		t.Errorf("the page has %d img or inline script elements", n)
	}
}
