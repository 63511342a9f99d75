package remote

import (
	"encoding/json"
	"testing"
)

// What was there before: the record's, unless the file found now is
// neither ours nor that, in which case it replaced ours since.
func TestPreviousOf(t *testing.T) {
	a := FileMeta{Exists: true, Data: []byte("A")}
	b := FileMeta{Exists: true, Data: []byte("B")}
	ours := FileMeta{Exists: true, Data: []byte("ours")}
	rec := NewLedgerRecord("t", "/x", nil, a, ours.Data)
	for name, tc := range map[string]struct {
		rec      *LedgerRecord
		cur      FileMeta
		creating bool
		want     FileMeta
	}{
		"no record":                     {nil, b, true, b},
		"ours still there":              {rec, ours, true, a},
		"write never landed":            {rec, a, true, a},
		"removed since":                 {rec, FileMeta{}, true, a},
		"replaced by a site's file":     {rec, b, true, b},
		"drift of ours, with a state":   {rec, b, false, a},
		"earlier content of ours":       {NewLedgerRecord("t", "/x", rec, a, []byte("newer")), ours, true, a},
		"no previous, ours still there": {NewLedgerRecord("t", "/x", nil, FileMeta{}, ours.Data), ours, true, FileMeta{}},
	} {
		if got := PreviousOf(tc.rec, tc.cur, tc.creating); got.Exists != tc.want.Exists || string(got.Data) != string(tc.want.Data) {
			t.Errorf("%s: %+v, want %+v", name, got, tc.want)
		}
	}
}

// A record read from the host either parses into one for the path asked
// about, with a full hash, or is an error; it never panics.
func FuzzParseLedgerRecord(f *testing.F) {
	rec := NewLedgerRecord("mcpai_host_sysctl", "/etc/sysctl.d/90-mcpai.conf", nil, FileMeta{Exists: true, Data: []byte("x=1\n"), Mode: 0o644}, []byte("y=2\n"))
	rec.PreviousValues = map[string]string{"net.core.somaxconn": "4096"}
	good, _ := json.Marshal(rec)
	f.Add(good)
	f.Add([]byte(`{"path":"/other","written_sha256":"00"}`))
	f.Add([]byte(`{`))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := ParseLedgerRecord("/etc/sysctl.d/90-mcpai.conf", data)
		if err != nil {
			return
		}
		if r.Path != "/etc/sysctl.d/90-mcpai.conf" || len(r.Written) != 64 {
			t.Fatalf("accepted %+v", r)
		}
	})
}
