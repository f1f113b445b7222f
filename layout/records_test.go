package layout

import (
	"context"
	"strconv"
	"sync"
	"testing"
	"time"
)

// Issue 14, item 1: a record of how a start ended must be saved even while
// another launcher holds the updater lock for a long update.
func TestChangeRecordsWhileTheUpdaterLockIsHeld(t *testing.T) {
	d := New(t.TempDir())
	lock, ok, err := d.TryLock()
	if err != nil || !ok {
		t.Fatalf("updater lock: %v %v", ok, err)
	}
	defer lock.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	err = d.ChangeRecords(ctx, func(old []byte) ([]byte, error) { return []byte("1"), nil })
	if err != nil {
		t.Fatalf("records not saved while the updater lock is held: %v", err)
	}
	if b, _ := d.ReadRecords(); string(b) != "1" {
		t.Fatalf("records = %q", b)
	}
}

// Concurrent changes are serialized: none is lost.
func TestChangeRecordsSerializes(t *testing.T) {
	d := New(t.TempDir())
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := d.ChangeRecords(context.Background(), func(old []byte) ([]byte, error) {
				n, _ := strconv.Atoi(string(old))
				return []byte(strconv.Itoa(n + 1)), nil
			})
			if err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if b, _ := d.ReadRecords(); string(b) != "8" {
		t.Fatalf("after 8 increments the records say %q", b)
	}
}
