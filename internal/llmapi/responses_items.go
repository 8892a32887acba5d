package llmapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// itemsOf returns the resolver of r's item_reference items: an output item
// id names its response ("msg_<suffix>", "fc_<suffix>_<index>" of
// "resp_<suffix>"), which is read back from history, for r's caller. Each
// response is read once per request.
func (a *API) itemsOf(r *http.Request) itemResolver {
	read := map[string]*responseBuilder{}
	return func(id string) (inputItem, error) {
		respID, index, ok := parseItemID(id)
		b := read[respID]
		if ok && b == nil {
			var err error
			if b, err = a.readResponse(r.Context(), claimsOf(r), respID, "", false, nil); err == nil {
				read[respID] = b
			}
		}
		if b == nil {
			return inputItem{}, fmt.Errorf("item_reference %q: no such item", id)
		}
		for i, o := range b.obj.Output {
			switch it := o.(type) {
			case *messageItem:
				if index < 0 {
					text, _ := json.Marshal(it.Content[0].Text)
					return inputItem{Type: "message", Role: "assistant", Content: text}, nil
				}
			case *callItem:
				if i == index {
					return inputItem{Type: "function_call", CallID: it.CallID, Name: it.Name, Arguments: it.Arguments}, nil
				}
			}
		}
		return inputItem{}, fmt.Errorf("item_reference %q: no such item", id)
	}
}

// parseItemID reads an output item id: the response's id and, for a
// function call, its output index (-1 for the message).
func parseItemID(id string) (respID string, index int, ok bool) {
	if suffix, found := strings.CutPrefix(id, "msg_"); found {
		return "resp_" + suffix, -1, true
	}
	rest, found := strings.CutPrefix(id, "fc_")
	cut := strings.LastIndexByte(rest, '_')
	if !found || cut < 0 {
		return "", 0, false
	}
	index, err := strconv.Atoi(rest[cut+1:])
	return "resp_" + rest[:cut], index, err == nil && index >= 0
}
