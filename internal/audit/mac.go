package audit

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
)

// Domain tags open every MAC input, so that a record's MAC can never be
// passed off as a head's, nor either as the MAC of a later format.
const (
	recordTag = "artstore.audit.record.v1"
	headTag   = "artstore.audit.head.v1"
)

// head is the end of the chain as the head row records it.
type head struct {
	seq int64  // the last record's seq; 0 for an empty log
	mac string // the last record's MAC, hex; "" for an empty log
}

// field is a named string field of a record, in canonical order.
type field struct{ name, value string }

// fields lists the string fields of r in the order the MAC covers them.
// Changing the order or the set changes every MAC, so it needs a new tag.
func (r Record) fields() []field {
	return []field{
		{"actor", r.Actor},
		{"actor_role", r.ActorRole},
		{"action", r.Action},
		{"target", r.Target},
		{"source_addr", r.SourceAddr},
		{"request_id", r.RequestID},
		{"outcome", r.Outcome},
		{"detail", r.Detail},
	}
}

// recordMAC returns the hex MAC of r chained to the MAC before it, in the
// hex form it is stored in ("" for the first record). It covers Seq and At as well as every string, so
// a record moved to another position, or retimed, no longer matches.
func (l *Log) recordMAC(prev string, r Record) string {
	e := encoder{}
	e.str(recordTag)
	e.str(prev)
	e.int(r.Seq)
	e.int(r.At.UnixMicro())
	for _, f := range r.fields() {
		e.str(f.value)
	}
	return l.sum(e.buf)
}

// headMAC returns the hex MAC of a head naming seq and its record's MAC.
func (l *Log) headMAC(seq int64, mac string) string {
	e := encoder{}
	e.str(headTag)
	e.int(seq)
	e.str(mac)
	return l.sum(e.buf)
}

func (l *Log) sum(msg []byte) string {
	h := hmac.New(sha256.New, l.key)
	h.Write(msg)
	return hex.EncodeToString(h.Sum(nil))
}

// macEqual compares two hex MACs in constant time.
func macEqual(a, b string) bool {
	return hmac.Equal([]byte(a), []byte(b))
}

// encoder builds the canonical form of a MAC input: every value is written
// as its length in four bytes, big-endian, followed by its bytes. Lengths
// make the encoding unambiguous: no two different sequences of values
// encode alike, so moving bytes from one field to the next changes the MAC.
type encoder struct{ buf []byte }

func (e *encoder) bytes(b []byte) {
	e.buf = binary.BigEndian.AppendUint32(e.buf, uint32(len(b)))
	e.buf = append(e.buf, b...)
}

func (e *encoder) str(s string) { e.bytes([]byte(s)) }

func (e *encoder) int(v int64) {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(v))
	e.bytes(b[:])
}
