package fsutiltest

import (
	"strings"
	"testing"
)

func TestCheck(t *testing.T) {
	cases := []struct {
		name   string
		events []Event
		want   string // a word of the only problem; "" for none
	}{
		{"file flushed, renamed, folder flushed", []Event{
			{Op: "sync", Path: "/d/.tmp"},
			{Op: "rename", Path: "/d/.tmp", To: "/d/f", Under: []string{"/d/.tmp"}},
			{Op: "sync", Path: "/d"},
		}, ""},
		{"renamed before its flush", []Event{
			{Op: "rename", Path: "/d/.tmp", To: "/d/f", Under: []string{"/d/.tmp"}},
			{Op: "sync", Path: "/d"},
			{Op: "sync", Path: "/d/f"},
		}, "was not flushed before it was renamed"},
		{"folder never flushed after the rename", []Event{
			{Op: "sync", Path: "/d/.tmp"},
			{Op: "rename", Path: "/d/.tmp", To: "/d/f", Under: []string{"/d/.tmp"}},
		}, "never flushed afterwards"},
		{"next step before the folder's flush", []Event{
			{Op: "syncfs", Path: "/s/v", Under: []string{"/s/v", "/s/v/a"}},
			{Op: "rename", Path: "/s/v", To: "/versions/v", Under: []string{"/s/v", "/s/v/a"}},
			{Op: "sync", Path: "/.tmp"},
			{Op: "rename", Path: "/.tmp", To: "/current", Under: []string{"/.tmp"}},
			{Op: "sync", Path: "/"},
			{Op: "sync", Path: "/versions"},
		}, "was not flushed before the next step"},
		{"a file in a folder not flushed", []Event{
			{Op: "sync", Path: "/s/v"},
			{Op: "rename", Path: "/s/v", To: "/versions/v", Under: []string{"/s/v", "/s/v/a"}},
			{Op: "sync", Path: "/versions"},
		}, "/s/v/a was not flushed"},
		{"flushed content keeps its flush when moved", []Event{
			{Op: "syncfs", Path: "/s", Under: []string{"/s", "/s/v", "/s/v/a"}},
			{Op: "rename", Path: "/s/v", To: "/t/v", Under: []string{"/s/v", "/s/v/a"}},
			{Op: "sync", Path: "/t"},
			{Op: "rename", Path: "/t/v", To: "/versions/v", Under: []string{"/t/v", "/t/v/a"}},
			{Op: "sync", Path: "/versions"},
		}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			problems := Check(c.events)
			switch {
			case c.want == "" && len(problems) > 0:
				t.Fatalf("problems %q, want none", problems)
			case c.want != "" && (len(problems) != 1 || !strings.Contains(problems[0], c.want)):
				t.Fatalf("problems %q, want one about %q", problems, c.want)
			}
		})
	}
}
