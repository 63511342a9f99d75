package remote

import (
	"context"
	"testing"
	"time"
)

func TestParseLockHolder(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     *LockHolder
		err      bool
	}{
		{name: "free", in: "1700000100\n", want: nil},
		{name: "held", in: "1700000100\nmachine=ci-7\npid=42\nuser=deploy\nholder=mcpai_host_file /etc/x\nsince=1700000040\n",
			want: &LockHolder{Machine: "ci-7", PID: 42, User: "deploy", Holder: "mcpai_host_file /etc/x", Since: time.Unix(1700000040, 0), HeldFor: time.Minute}},
		{name: "value with equals", in: "5\nholder=a=b\n", want: &LockHolder{Holder: "a=b"}},
		{name: "no time", in: "", err: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseLockHolder(tc.in)
			if (err != nil) != tc.err {
				t.Fatalf("err = %v", err)
			}
			switch {
			case got == nil && tc.want == nil:
			case got == nil || tc.want == nil || *got != *tc.want:
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func FuzzParseLockHolder(f *testing.F) {
	f.Add("1700000100\nmachine=m\npid=1\nsince=1700000000\n")
	f.Fuzz(func(_ *testing.T, s string) { _, _ = parseLockHolder(s) })
}

func TestLockOptionsWait(t *testing.T) {
	if got := (LockOptions{}).wait(t.Context()); got != DefaultLockWait {
		t.Errorf("no bound: %s", got)
	}
	if got := (LockOptions{Wait: time.Second}).wait(t.Context()); got != time.Second {
		t.Errorf("explicit: %s", got)
	}
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	if got := (LockOptions{}).wait(ctx); got > time.Minute-lockAnswerMargin || got < time.Minute-lockAnswerMargin-time.Second {
		t.Errorf("deadline in a minute: %s", got)
	}
}

func TestOneLine(t *testing.T) {
	if got := oneLine("a\nsince=1\tb  c"); got != "a since=1 b c" {
		t.Errorf("oneLine = %q", got)
	}
}
