package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestResponseInPlainEventSource follows a background response with a
// plain EventSource, as the README shows: the page closes its stream
// after a few deltas and opens another one after its lastEventId (the
// sequence number the hub puts in each event's id); the two add up to the
// response's whole text, nothing repeated or lost.
func TestResponseInPlainEventSource(t *testing.T) {
	p := startBinary(t, "-data-dir", "", "-sim-tokens-per-second", "40")
	body := `{"model":"ssehub-sim","input":"Explain server-sent events","background":true,"max_output_tokens":80}`
	resp, err := http.Post(p.base+"/v1/responses", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	var created struct{ ID string }
	err = json.NewDecoder(resp.Body).Decode(&created)
	resp.Body.Close()
	if err != nil || created.ID == "" {
		t.Fatalf("POST: status %d, %v", resp.StatusCode, err)
	}

	b := newBrowser(t)
	tb := b.tab("eventsource")
	tb.load("open the console", chromedp.Navigate(p.base+"/"))
	eval[any](tb, fmt.Sprintf(`(() => {
		window.text = ''; window.done = false; window.streams = 0;
		const follow = (url, cut) => {
			window.streams++;
			const es = new EventSource(url);
			let deltas = 0;
			es.addEventListener('response.output_text.delta', (e) => {
				window.text += JSON.parse(e.data).delta;
				if (cut && ++deltas === 5) {
					es.close();
					follow(%[1]s + '&starting_after=' + e.lastEventId, false);
				}
			});
			for (const end of ['response.completed', 'response.incomplete', 'response.failed'])
				es.addEventListener(end, () => { es.close(); window.done = true; });
		};
		follow(%[1]s, true);
	})()`, jsString("/v1/responses/"+created.ID+"?stream=true")))
	tb.waitFor("the answer's end", `window.done === true`)

	resp, err = http.Get(p.base + "/v1/responses/" + created.ID)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var full struct {
		Status string
		Output []struct {
			Content []struct{ Text string }
		}
	}
	if err := json.NewDecoder(resp.Body).Decode(&full); err != nil || len(full.Output) == 0 || len(full.Output[0].Content) == 0 {
		t.Fatalf("GET the response: %v %+v", err, full)
	}
	want := full.Output[0].Content[0].Text
	if got := eval[string](tb, `window.text`); got != want || eval[float64](tb, `window.streams`) != 2 {
		t.Fatalf("the page put together %q over %v streams, want %q over 2", got, eval[float64](tb, `window.streams`), want)
	}
}
