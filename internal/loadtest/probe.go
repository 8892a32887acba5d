package loadtest

// serverProbe samples the hubs' processes: RSS before connecting, RSS and
// CPU once the streams are idle, CPU when the deliveries are over. With
// several processes (the nodes of a cluster) the figures are their sums.
type serverProbe struct {
	pids                []int
	before, idleS, endS []procSample // one per pid
	err                 error        // the first failed sample after the start
}

func (p *serverProbe) start(pids []int) error {
	p.pids = pids
	var err error
	p.before, err = readProcs(pids)
	return err
}

// readProcs samples every process of pids.
func readProcs(pids []int) ([]procSample, error) {
	s := make([]procSample, len(pids))
	for i, pid := range pids {
		var err error
		if s[i], err = readProc(pid); err != nil {
			return nil, err
		}
	}
	return s, nil
}

func (p *serverProbe) sample(into *[]procSample) {
	if len(p.pids) == 0 || p.err != nil {
		return
	}
	*into, p.err = readProcs(p.pids)
}

func (p *serverProbe) idle() { p.sample(&p.idleS) }
func (p *serverProbe) done() { p.sample(&p.endS) }

// sum adds up samples.
func sum(samples []procSample) procSample {
	var t procSample
	for _, s := range samples {
		t.RSSKiB += s.RSSKiB
		t.CPU += s.CPU
	}
	return t
}

// fill writes the servers' figures into res.
func (p *serverProbe) fill(res *Result) {
	if len(p.pids) == 0 || p.err != nil {
		return
	}
	before, idle, end := sum(p.before), sum(p.idleS), sum(p.endS)
	res.ServerRSSBeforeKiB, res.ServerRSSAfterKiB = before.RSSKiB, idle.RSSKiB
	if len(p.pids) > 1 {
		for _, s := range p.idleS {
			res.ServerRSSEachKiB = append(res.ServerRSSEachKiB, s.RSSKiB)
		}
	}
	if res.Connections > 0 {
		res.RSSPerConnKiB = round(float64(idle.RSSKiB-before.RSSKiB)/float64(res.Connections), 2)
	}
	if res.Published > 0 {
		res.ServerCPUSeconds = round((end.CPU - idle.CPU).Seconds(), 2)
		if res.ServerCPUSeconds > 0 {
			res.DeliveriesPerCPUS = round(float64(res.Delivered)/res.ServerCPUSeconds, 0)
		}
	}
}
