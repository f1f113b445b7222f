package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tufup-go/tufup/internal/testenv"
)

func TestParse(t *testing.T) {
	doc := "# Title\n\n```sh\necho one\ncd /tmp\n```\n<!-- expect: one -->\n\n" +
		"```text\nnot run\n```\n\n```json\n{}\n```\n\n  ```sh\necho two\n  ```\n<!-- expect: two -->\n<!-- expect: 2 -->\n"
	blocks, err := parse(doc)
	if err != nil {
		t.Fatal(err)
	}
	if len(blocks) != 2 {
		t.Fatalf("got %d blocks, want the 2 sh blocks: %+v", len(blocks), blocks)
	}
	if blocks[0].code != "echo one\ncd /tmp\n" || blocks[0].line != 4 || strings.Join(blocks[0].expect, "|") != "one" {
		t.Errorf("block 1 = %+v", blocks[0])
	}
	if blocks[1].code != "echo two\n" || strings.Join(blocks[1].expect, "|") != "two|2" {
		t.Errorf("block 2 = %+v", blocks[1])
	}

	for doc, want := range map[string]string{
		"```sh\necho\n":                    "not closed",
		"<!-- expect: x -->\n```sh\n```\n": "before any",
		"```sh\n```\n<!-- expect: -->\n":   "malformed",
	} {
		if _, err := parse(doc); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("parse(%q) error %v, want one saying %q", doc, err, want)
		}
	}
}

func check(t *testing.T, doc string) (*result, error) {
	t.Helper()
	testenv.LookPath(t, "bash", "bash")
	path := filepath.Join(t.TempDir(), "doc.md")
	if err := os.WriteFile(path, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	return checkFile(path, runOptions{dir: t.TempDir(), timeout: time.Minute})
}

// One session: cd and variables carry over from block to block, HOME is a
// fresh folder, and each block's expectations are checked against its own
// output only.
func TestSessionPasses(t *testing.T) {
	res, err := check(t, "```sh\nmkdir -p ~/work && cd ~/work\nGREETING=hello\n```\n"+
		"```sh\necho \"$GREETING from $(pwd)\"\nls -A ~\n```\n<!-- expect: hello from -->\n<!-- expect: work -->\n")
	if err != nil {
		t.Fatal(err)
	}
	if res.expectations() != 2 || !strings.Contains(string(res.output), "/home/work") {
		t.Fatalf("output %q", res.output)
	}
}

func TestFailingCommandNamesTheBlock(t *testing.T) {
	_, err := check(t, "```sh\necho fine\n```\n\n```sh\necho before\nfalse\necho after\n```\n```sh\necho never\n```\n")
	if err == nil {
		t.Fatal("a failing command passed")
	}
	msg := err.Error()
	if !strings.Contains(msg, "doc.md:6:") || !strings.Contains(msg, "before") || strings.Contains(msg, "after\n    ") {
		t.Fatalf("error does not name the second block and its output:\n%s", msg)
	}
}

func TestPipelineFailureFails(t *testing.T) {
	if _, err := check(t, "```sh\nfalse | cat\n```\n"); err == nil {
		t.Fatal("a failing command in a pipeline passed")
	}
}

func TestMissingExpectationFails(t *testing.T) {
	_, err := check(t, "```sh\necho first\n```\n<!-- expect: second -->\n```sh\necho second\n```\n")
	if err == nil || !strings.Contains(err.Error(), `does not contain "second"`) {
		t.Fatalf("an expectation met only by a later block's output passed: %v", err)
	}
}

func TestExitInABlockFails(t *testing.T) {
	if _, err := check(t, "```sh\nexit 0\n```\n```sh\necho skipped\n```\n"); err == nil {
		t.Fatal("a session that skipped blocks with exit 0 passed")
	}
}
