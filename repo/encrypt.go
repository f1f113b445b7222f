package repo

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
)

// securesystemslib's encrypted key format (rsa_keys.encrypt_key), which
// Python tufup uses for password-protected keys:
//
//	hex(salt) @@@@ iterations @@@@ hex(hmac) @@@@ hex(iv) @@@@ hex(ciphertext)
//
// The password is stretched with PBKDF2-HMAC-SHA256 into a 32-byte key that
// serves both AES-256-CTR (the 16-byte iv is the initial counter block) and
// HMAC-SHA256 over the ciphertext. The plaintext is the key's JSON.
const (
	encDelimiter  = "@@@@"
	encSaltSize   = 16
	encIterations = 100000 // securesystemslib's settings.PBKDF2_ITERATIONS
	// encMaxIterations bounds the work a key file can ask for, so a damaged
	// file cannot hang the tool.
	encMaxIterations = 50_000_000
)

func deriveKey(password, salt []byte, iterations int) ([]byte, error) {
	return pbkdf2.Key(sha256.New, string(password), salt, iterations, 32)
}

func encryptKey(plain, password []byte) ([]byte, error) {
	if len(password) == 0 {
		return nil, errors.New("empty password")
	}
	salt := make([]byte, encSaltSize)
	iv := make([]byte, aes.BlockSize)
	if _, err := rand.Read(salt); err != nil {
		return nil, err
	}
	if _, err := rand.Read(iv); err != nil {
		return nil, err
	}
	key, err := deriveKey(password, salt, encIterations)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	ct := make([]byte, len(plain))
	cipher.NewCTR(block, iv).XORKeyStream(ct, plain)
	mac := hmac.New(sha256.New, key)
	mac.Write(ct)
	parts := []string{
		hex.EncodeToString(salt),
		strconv.Itoa(encIterations),
		hex.EncodeToString(mac.Sum(nil)),
		hex.EncodeToString(iv),
		hex.EncodeToString(ct),
	}
	var out bytes.Buffer
	for i, p := range parts {
		if i > 0 {
			out.WriteString(encDelimiter)
		}
		out.WriteString(p)
	}
	return out.Bytes(), nil
}

func decryptKey(data, password []byte) ([]byte, error) {
	parts := bytes.Split(bytes.TrimSpace(data), []byte(encDelimiter))
	if len(parts) != 5 {
		return nil, errors.New("not a securesystemslib encrypted key (want salt@@@@iterations@@@@hmac@@@@iv@@@@ciphertext)")
	}
	field := func(i int, name string) ([]byte, error) {
		b, err := hex.DecodeString(string(parts[i]))
		if err != nil {
			return nil, fmt.Errorf("encrypted key: %s is not hex", name)
		}
		return b, nil
	}
	salt, err := field(0, "salt")
	if err != nil {
		return nil, err
	}
	iterations, err := strconv.Atoi(string(parts[1]))
	if err != nil || iterations < 1 || iterations > encMaxIterations {
		return nil, fmt.Errorf("encrypted key: iteration count %q is not between 1 and %d", parts[1], encMaxIterations)
	}
	wantMAC, err := field(2, "hmac")
	if err != nil {
		return nil, err
	}
	iv, err := field(3, "iv")
	if err != nil {
		return nil, err
	}
	if len(iv) != aes.BlockSize {
		return nil, fmt.Errorf("encrypted key: iv is %d bytes, want %d", len(iv), aes.BlockSize)
	}
	ct, err := field(4, "ciphertext")
	if err != nil {
		return nil, err
	}
	key, err := deriveKey(password, salt, iterations)
	if err != nil {
		return nil, err
	}
	mac := hmac.New(sha256.New, key)
	mac.Write(ct)
	if !hmac.Equal(mac.Sum(nil), wantMAC) {
		return nil, ErrWrongPassword
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	plain := make([]byte, len(ct))
	cipher.NewCTR(block, iv).XORKeyStream(plain, ct)
	return plain, nil
}
