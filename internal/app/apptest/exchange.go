package apptest

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/http"
	"testing"
	"time"
)

// Exchange writes raw requests on c and reads n answers, their bodies
// read. With closing, the server must then close the connection, within
// 2 s and without another byte; else it must have sent nothing more yet.
func Exchange(t *testing.T, c net.Conn, requests string, n int, closing bool) []*http.Response {
	t.Helper()
	if _, err := io.WriteString(c, requests); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(c)
	var answers []*http.Response
	for range n {
		_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("answer %d of %d: %v", len(answers)+1, n, err)
		}
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatalf("answer %d of %d: %v", len(answers)+1, n, err)
		}
		resp.Body = io.NopCloser(bytes.NewReader(body))
		answers = append(answers, resp)
	}
	if !closing {
		if br.Buffered() > 0 {
			t.Errorf("more than %d answers", n)
		}
		return answers
	}
	_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
	more, err := br.Peek(1)
	switch ne, ok := err.(net.Error); {
	case err == nil:
		t.Errorf("more after %d answers: %q…", n, more)
	case ok && ne.Timeout():
		t.Errorf("connection still open 2 s after %d answers", n)
	}
	return answers
}
