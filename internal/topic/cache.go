package topic

import "sync"

// Cache keeps compiled selectors by spec and base URL, so that the
// subscriptions of a reconnect storm, which name the same few selectors
// again and again, compile each once: a URL pattern takes some 100 us to
// compile. A Selector is immutable and safe to share. The zero value is
// unbounded; use NewCache.
type Cache struct {
	mu   sync.Mutex
	max  int
	sels map[cacheKey]Selector
}

// cacheKey is a spec and the base it was compiled against; only URL
// patterns depend on the base, so the others are kept with an empty one.
type cacheKey struct {
	spec Spec
	base string
}

// NewCache returns a cache of at most max selectors; past it, an
// arbitrary one goes for each new one.
func NewCache(max int) *Cache { return &Cache{max: max, sels: make(map[cacheKey]Selector)} }

// Compile returns CompileSpec(s, base), compiled once while it stays in
// the cache. Errors are not kept.
func (c *Cache) Compile(s Spec, base string) (Selector, error) {
	k := cacheKey{spec: s}
	if s.Type == URLPattern {
		k.base = base
	}
	c.mu.Lock()
	sel, ok := c.sels[k]
	c.mu.Unlock()
	if ok {
		return sel, nil
	}
	sel, err := CompileSpec(s, base)
	if err != nil {
		return Selector{}, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.max > 0 && len(c.sels) >= c.max {
		for old := range c.sels {
			delete(c.sels, old)
			break
		}
	}
	if c.sels == nil {
		c.sels = make(map[cacheKey]Selector)
	}
	c.sels[k] = sel
	return sel, nil
}

// Len returns the number of selectors kept.
func (c *Cache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.sels)
}
