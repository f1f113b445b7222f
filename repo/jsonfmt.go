package repo

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"unicode/utf16"
	"unicode/utf8"
)

// pythonJSON re-encodes the JSON document data the way Python's
// json.dumps(obj, indent=indent, sort_keys=True) writes it: keys sorted,
// ", " never used inside indented output, and every non-ASCII character
// escaped as \uXXXX (ensure_ascii). Python tufup writes its metadata and
// config like this, and files that look the same diff cleanly in a team's
// version control whichever tool wrote them. Numbers keep their text.
func pythonJSON(data []byte, indent string) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", indent)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return asciiEscape(bytes.TrimSuffix(buf.Bytes(), []byte("\n"))), nil
}

// asciiEscape replaces every non-ASCII character of an encoded JSON text by
// its \uXXXX escape (a surrogate pair above U+FFFF), lower-case hex as Python
// writes it. Outside strings JSON text is pure ASCII, so this only touches
// string contents.
func asciiEscape(b []byte) []byte {
	if !bytes.ContainsFunc(b, func(r rune) bool { return r >= utf8.RuneSelf }) {
		return b
	}
	var out bytes.Buffer
	for len(b) > 0 {
		r, size := utf8.DecodeRune(b)
		switch {
		case r < utf8.RuneSelf:
			out.WriteByte(b[0])
		case r > 0xFFFF:
			r1, r2 := utf16.EncodeRune(r)
			fmt.Fprintf(&out, `\u%04x\u%04x`, r1, r2)
		default:
			fmt.Fprintf(&out, `\u%04x`, r)
		}
		b = b[size:]
	}
	return out.Bytes()
}

// checkIntegers reports the first non-integer number in a JSON document.
// TUF signs the canonical JSON form of metadata, and canonical JSON (as
// securesystemslib and go-tuf implement it) has no floating-point numbers:
// metadata holding one could not be signed, nor verified by any client.
func checkIntegers(data []byte) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("unexpected data after the JSON value")
	}
	return walkNumbers(v, "")
}

func walkNumbers(v any, path string) error {
	switch v := v.(type) {
	case json.Number:
		if _, err := v.Int64(); err != nil {
			where := ""
			if path != "" {
				where = " at " + path
			}
			return fmt.Errorf("number %s%s is not an integer that fits in 64 bits; TUF metadata is signed as canonical JSON, which allows integers only (use a string instead)", v, where)
		}
	case []any:
		for i, e := range v {
			if err := walkNumbers(e, fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
	case map[string]any:
		for k, e := range v {
			p := k
			if path != "" {
				p = path + "." + k
			}
			if err := walkNumbers(e, p); err != nil {
				return err
			}
		}
	}
	return nil
}
