package local

import "sync"

// dirSyncer coalesces fsyncs of the same directory. A caller needs a sync
// that starts after its own change to the directory; when one is already
// running it waits for it to end and then joins the next, which one caller
// runs on behalf of all who are waiting. Under concurrent uploads into one
// hourly directory this turns one directory fsync per file into about one
// per batch, without ever acknowledging a change that no sync covered.
type dirSyncer struct {
	mu   sync.Mutex
	dirs map[string]*dirState
	sync func(dir string) error
}

type dirState struct {
	cond      sync.Cond
	users     int    // callers holding this state; it is dropped at zero
	requested uint64 // the newest ticket handed out
	completed uint64 // every ticket up to this one is covered by a sync
	running   bool
	err       error // the outcome of the newest completed sync
}

func newDirSyncer(sync func(string) error) *dirSyncer {
	return &dirSyncer{dirs: map[string]*dirState{}, sync: sync}
}

// Sync makes every change made to dir before the call durable.
func (s *dirSyncer) Sync(dir string) error {
	s.mu.Lock()
	st := s.dirs[dir]
	if st == nil {
		st = &dirState{}
		st.cond.L = &s.mu
		s.dirs[dir] = st
	}
	st.users++
	st.requested++
	ticket := st.requested
	for st.completed < ticket {
		if st.running {
			st.cond.Wait()
			continue
		}
		// Run one sync for everyone who holds a ticket by now.
		st.running = true
		target := st.requested
		s.mu.Unlock()
		err := s.sync(dir)
		s.mu.Lock()
		st.running = false
		st.completed, st.err = target, err
		st.cond.Broadcast()
	}
	// A later successful sync also covers this caller, so the newest
	// outcome is the one that counts.
	err := st.err
	st.users--
	if st.users == 0 {
		delete(s.dirs, dir)
	}
	s.mu.Unlock()
	return err
}
