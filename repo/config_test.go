package repo

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestConfigRoundTripsFixtureByteForByte(t *testing.T) {
	path := filepath.Join(fixture, ConfigFile)
	cfg, err := ReadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.AppName != "demoapp" || cfg.KeysDir != "keystore" || cfg.RepoDir != "repository" || cfg.ExpirationDays[RoleTimestamp] != 3650 {
		t.Errorf("read %+v", cfg)
	}
	got, err := cfg.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if want := readFile(t, path); string(got) != string(want) {
		t.Errorf("Marshal differs from the file tufup wrote:\n%s\nwant:\n%s", got, want)
	}
}

func TestDefaultConfigIsTufups(t *testing.T) {
	cfg := DefaultConfig("app")
	want := map[string]float64{RoleRoot: 365, RoleTargets: 7, RoleSnapshot: 7, RoleTimestamp: 1}
	for role, days := range want {
		if cfg.ExpirationDays[role] != days || cfg.Thresholds[role] != 1 || len(cfg.KeyMap[role]) != 1 || cfg.KeyMap[role][0] != role {
			t.Errorf("%s: days %v threshold %d keys %v", role, cfg.ExpirationDays[role], cfg.Thresholds[role], cfg.KeyMap[role])
		}
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestConfigErrorsNameKeyAndFile(t *testing.T) {
	base := string(readFile(t, filepath.Join(fixture, ConfigFile)))
	cases := []struct {
		name, old, new string
		want           []string
	}{
		{"unknown key", `"app_name": "demoapp",`, `"app_name": "demoapp", "colour": 1,`, []string{`unknown key "colour"`}},
		{"app_name null", `"app_name": "demoapp"`, `"app_name": null`, []string{`"app_name"`, "null"}},
		{"app_name number", `"app_name": "demoapp"`, `"app_name": 3`, []string{`"app_name"`, "a string"}},
		{"bad app name", `"app_name": "demoapp"`, `"app_name": "demo app"`, []string{`"app_name"`, "letters"}},
		{"unknown role", `"root": 3650,`, `"root": 3650, "mirror": 2,`, []string{`"expiration_days"`, `unknown role "mirror"`}},
		{"zero days", `"timestamp": 3650`, `"timestamp": 0`, []string{`"expiration_days"`, "timestamp"}},
		{"threshold zero", `"targets": 1,`, `"targets": 0,`, []string{`"thresholds"`, "targets"}},
		{"threshold float", `"targets": 1,`, `"targets": 1.5,`, []string{`"thresholds"`}},
		{"empty key list", "\"root\": [\n            \"root\"\n        ]", `"root": []`, []string{`"key_map"`, "root has no keys"}},
		{"key name with slash", `"targets"
        ],
        "timestamp"`, `"../targets"
        ],
        "timestamp"`, []string{`"key_map"`, "../targets"}},
		{"not json", base, "{", []string{"not a JSON object"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if !strings.Contains(base, c.old) {
				t.Fatalf("fixture config lacks %q", c.old)
			}
			path := filepath.Join(t.TempDir(), ConfigFile)
			if err := os.WriteFile(path, []byte(strings.Replace(base, c.old, c.new, 1)), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := ReadConfig(path)
			if err == nil {
				t.Fatal("no error")
			}
			containsAll(t, err.Error(), append(c.want, path)...)
		})
	}
}

func TestConfigMissingKeysTakeDefaults(t *testing.T) {
	path := filepath.Join(t.TempDir(), ConfigFile)
	if err := os.WriteFile(path, []byte(`{"app_name": "x", "thresholds": {"root": 2}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := ReadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Thresholds[RoleRoot] != 2 || cfg.Thresholds[RoleTargets] != 1 || cfg.KeysDir != "keystore" || cfg.ExpirationDays[RoleTimestamp] != 1 {
		t.Errorf("got %+v", cfg)
	}
}

func TestConfigPathIsPosixRelative(t *testing.T) {
	base := t.TempDir()
	got, err := ConfigPath(base, filepath.Join(base, "keys", "offline"))
	if err != nil || got != "keys/offline" {
		t.Errorf("inside: %q, %v", got, err)
	}
	outside := t.TempDir()
	got, err = ConfigPath(base, outside)
	if err != nil || got != outside {
		t.Errorf("outside: %q, %v", got, err)
	}
	if p := resolve(base, "keys/offline"); p != filepath.Join(base, "keys", "offline") {
		t.Errorf("resolve: %q", p)
	}
}
