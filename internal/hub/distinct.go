package hub

import "slices"

// fewTopics is how many topics DistinctTopics compares pair by pair: for
// the one to three topics of most updates that is quicker than a map, and
// allocates nothing.
const fewTopics = 16

// DistinctTopics returns topics without repeats, keeping the first of each
// in order (so an update's canonical topic stays first). When no topic
// repeats, it returns topics itself. It takes time in proportion to the
// number of topics: a history that writes an entry per topic calls it
// rather than looking for each topic among those before it.
func DistinctTopics(topics []string) []string {
	if len(topics) <= fewTopics {
		for i := 1; i < len(topics); i++ {
			if slices.Contains(topics[:i], topics[i]) {
				return distinctSet(topics)
			}
		}
		return topics
	}
	return distinctSet(topics)
}

// distinctSet is DistinctTopics with a set of the topics seen.
func distinctSet(topics []string) []string {
	seen := make(map[string]struct{}, len(topics))
	var out []string // a copy, from the first repeat on
	for i, t := range topics {
		if _, dup := seen[t]; dup {
			if out == nil {
				out = append(make([]string, 0, len(topics)-1), topics[:i]...)
			}
			continue
		}
		seen[t] = struct{}{}
		if out != nil {
			out = append(out, t)
		}
	}
	if out == nil {
		return topics
	}
	return out
}
