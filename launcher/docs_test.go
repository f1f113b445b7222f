package launcher

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// The reference of launcher.json for users lives in docs/launcher-json.md.
// These tests keep it and the code in step: a key added, renamed or removed
// on either side, a default changed, or an example that no longer parses
// fails here.

const launcherJSONDoc = "../docs/launcher-json.md"

// docKey is one row of the reference's "Keys" table.
type docKey struct {
	name, typ, def string
}

// docKeys reads the rows of the table under "## Keys": the first column is
// the key in backticks, the third its default.
func docKeys(t *testing.T) []docKey {
	t.Helper()
	b, err := os.ReadFile(launcherJSONDoc)
	if err != nil {
		t.Fatal(err)
	}
	var keys []docKey
	inKeys := false
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "## ") {
			inKeys = line == "## Keys"
			continue
		}
		if !inKeys || !strings.HasPrefix(line, "| `") {
			continue
		}
		cells := strings.Split(strings.Trim(line, "|"), " | ")
		if len(cells) < 4 {
			t.Fatalf("%s: table row with %d cells, want key | type | default | description: %s", launcherJSONDoc, len(cells), line)
		}
		name := strings.TrimSpace(cells[0])
		if !strings.HasPrefix(name, "`") || !strings.HasSuffix(name, "`") || strings.Count(name, "`") != 2 {
			t.Fatalf("%s: first column %q is not one key in backticks", launcherJSONDoc, name)
		}
		keys = append(keys, docKey{name: strings.Trim(name, "`"), typ: strings.TrimSpace(cells[1]), def: strings.TrimSpace(cells[2])})
	}
	if len(keys) == 0 {
		t.Fatalf("%s: no key rows found under \"## Keys\"", launcherJSONDoc)
	}
	return keys
}

func TestLauncherJSONDocListsEveryKey(t *testing.T) {
	documented := map[string]bool{}
	for _, k := range docKeys(t) {
		if documented[k.name] {
			t.Errorf("%s documents %q twice", launcherJSONDoc, k.name)
		}
		documented[k.name] = true
	}
	inCode := map[string]bool{}
	for _, k := range ConfigKeys() {
		inCode[k] = true
		if !documented[k] {
			t.Errorf("launcher.json key %q (launcher.Config) is not documented in %s", k, launcherJSONDoc)
		}
	}
	for k := range documented {
		if !inCode[k] {
			t.Errorf("%s documents key %q, which launcher.Config does not have", launcherJSONDoc, k)
		}
	}
}

// requiredValues is a valid value for each key the reference calls required.
var requiredValues = map[string]any{
	"app_name":     "myapp",
	"metadata_url": "https://u.example/metadata/",
	"targets_url":  "https://u.example/targets/",
	"entry":        "myapp",
}

// Keys documented as required are exactly those whose absence is an error
// naming them; every documented default is the value the code fills in.
func TestLauncherJSONDocDefaults(t *testing.T) {
	keys := docKeys(t)
	var required []string
	for _, k := range keys {
		if k.def == "required" {
			required = append(required, k.name)
			if _, ok := requiredValues[k.name]; !ok {
				t.Fatalf("%s calls %q required; add a value for it to requiredValues", launcherJSONDoc, k.name)
			}
		}
	}
	for name := range requiredValues {
		cfg := map[string]any{}
		for k, v := range requiredValues {
			if k != name {
				cfg[k] = v
			}
		}
		b, _ := json.Marshal(cfg)
		_, err := ParseConfig(b)
		isRequired := slices.Contains(required, name)
		switch {
		case isRequired && (err == nil || !strings.Contains(err.Error(), `"`+name+`"`)):
			t.Errorf("%q is documented as required, but a config without it gives error %v", name, err)
		case !isRequired && err != nil:
			t.Errorf("%q is not documented as required, but a config without it fails: %v", name, err)
		}
	}

	b, _ := json.Marshal(requiredValues)
	c, err := ParseConfig(b)
	if err != nil {
		t.Fatal(err)
	}
	filled, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	var defaults map[string]json.RawMessage
	if err := json.Unmarshal(filled, &defaults); err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		switch {
		case k.def == "required":
			continue
		case strings.HasPrefix(k.def, "(") && strings.HasSuffix(k.def, ")"):
			// "(none)", "(empty: ...)": the key has no value by default.
			if got, ok := defaults[k.name]; ok {
				t.Errorf("%q: documented default %s, but the code fills in %s", k.name, k.def, got)
			}
			continue
		}
		lit := strings.Trim(k.def, "`")
		if strings.Count(k.def, "`") != 2 || !json.Valid([]byte(lit)) {
			t.Errorf("%q: default %q is neither `JSON value`, \"required\" nor \"(explanation)\"", k.name, k.def)
			continue
		}
		got := defaults[k.name]
		if got == nil {
			got = json.RawMessage("false") // omitempty drops false booleans
		}
		if !jsonEqual(t, got, []byte(lit)) {
			t.Errorf("%q: documented default %s, code's default %s", k.name, lit, got)
		}
	}
}

func jsonEqual(t *testing.T, a, b []byte) bool {
	t.Helper()
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	xs, _ := json.Marshal(x)
	ys, _ := json.Marshal(y)
	return bytes.Equal(xs, ys)
}

// jsonBlocks returns the ```json fenced blocks of a Markdown file.
func jsonBlocks(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var blocks []string
	var cur *strings.Builder
	for _, line := range strings.Split(string(b), "\n") {
		trimmed := strings.TrimSpace(line)
		switch {
		case cur == nil && trimmed == "```json":
			cur = &strings.Builder{}
		case cur != nil && trimmed == "```":
			blocks = append(blocks, cur.String())
			cur = nil
		case cur != nil:
			cur.WriteString(line + "\n")
		}
	}
	return blocks
}

// Every launcher.json shown in the docs is one the launcher accepts, and the
// reference's full example shows every key.
func TestDocsLauncherJSONExamplesParse(t *testing.T) {
	docs, err := filepath.Glob("../docs/*.md")
	if err != nil || len(docs) == 0 {
		t.Fatalf("no docs found: %v", err)
	}
	more, _ := filepath.Glob("../docs/examples/*/*.md")
	docs = append(docs, more...)
	fullExample := false
	examples := 0
	for _, doc := range docs {
		for _, block := range jsonBlocks(t, doc) {
			if !strings.Contains(block, `"app_name"`) {
				continue // some other JSON (state, --paths output)
			}
			examples++
			if _, err := ParseConfig([]byte(block)); err != nil {
				t.Errorf("%s: launcher.json example does not parse: %v\n%s", doc, err, block)
				continue
			}
			if doc != launcherJSONDoc {
				continue
			}
			var keys map[string]json.RawMessage
			json.Unmarshal([]byte(block), &keys)
			all := true
			for _, k := range ConfigKeys() {
				if _, ok := keys[k]; !ok {
					all = false
				}
			}
			fullExample = fullExample || all
		}
	}
	if examples == 0 {
		t.Fatal("no launcher.json examples found in docs/")
	}
	if !fullExample {
		t.Errorf("%s has no example showing every key of launcher.Config", launcherJSONDoc)
	}
}

// The placeholder rules as docs/launcher-json.md states them, beyond the
// cases of TestResolveDataDir.
func TestDataDirDocumentedRules(t *testing.T) {
	env := map[string]string{
		"HOME":          "/home/ana",
		"USERPROFILE":   `C:\Users\Ana`,
		"LOCALAPPDATA":  `C:\Users\Ana\AppData\Local`,
		"XDG_DATA_HOME": "",
	}
	getenv := func(k string) string { return env[k] }
	cases := []struct {
		goos, spec, xdg, want string
	}{
		// "/" works as the separator on every OS; "\\" on Windows too.
		{"windows", "{userdata}/MyApp", "", `C:\Users\Ana\AppData\Local\MyApp`},
		{"windows", `{userdata}\MyApp\data`, "", `C:\Users\Ana\AppData\Local\MyApp\data`},
		{"windows", `D:\Apps\MyAppData`, "", `D:\Apps\MyAppData`},
		{"windows", `\\server\share\MyApp`, "", `\\server\share\MyApp`},
		{"darwin", "{home}/.myapp", "", "/home/ana/.myapp"},
		// macOS has no XDG: Application Support even when it is set.
		{"darwin", "{userdata}/MyApp", "/xdg", "/home/ana/Library/Application Support/MyApp"},
		// XDG_DATA_HOME counts only as an absolute path.
		{"linux", "{userdata}/myapp", "relative/data", "/home/ana/.local/share/myapp"},
		{"freebsd", "{userdata}/myapp", "/xdg", "/xdg/myapp"},
		// A relative data_dir is relative to the launcher's folder.
		{"linux", "../data", "", "/opt/data"},
	}
	for _, c := range cases {
		env["XDG_DATA_HOME"] = c.xdg
		got, err := ResolveDataDir(c.spec, "/opt/app", c.goos, getenv)
		if err != nil {
			t.Errorf("%s %q: %v", c.goos, c.spec, err)
			continue
		}
		if c.goos == "windows" {
			got = strings.ReplaceAll(got, "/", `\`)
		}
		if got != c.want && filepath.ToSlash(got) != c.want {
			t.Errorf("%s %q (XDG_DATA_HOME=%q) = %q, want %q", c.goos, c.spec, c.xdg, got, c.want)
		}
	}

	// Variables are not expanded, and a placeholder whose variable is
	// missing is an error naming data_dir and the variable.
	env["XDG_DATA_HOME"] = ""
	for _, c := range []struct{ goos, spec, want string }{
		{"windows", "%APPDATA%/{appdata}", "unknown placeholder {appdata}"},
		{"darwin", "{userdata}/MyApp", "$HOME"},
		{"windows", "{home}/MyApp", "%USERPROFILE%"},
	} {
		_, err := ResolveDataDir(c.spec, "/opt/app", c.goos, func(k string) string {
			if k == "HOME" || k == "USERPROFILE" {
				return ""
			}
			return env[k]
		})
		if err == nil || !strings.Contains(err.Error(), "data_dir") || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s %q: error %v, want one naming data_dir and %s", c.goos, c.spec, err, c.want)
		}
	}
}
