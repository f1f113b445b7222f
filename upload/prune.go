package upload

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// state is the StateKey object: when each target at the destination was
// first seen unlisted by the published targets.json. It is kept whether
// or not pruning is asked for, so the grace period counts from the
// publication that dropped the target.
type state struct {
	Unlisted map[string]time.Time `json:"unlisted"`
}

// prune records targets the published targets.json no longer lists and,
// with Options.Prune, deletes those unlisted for the grace period. It runs
// after timestamp.json is up, so "published" means the local targets.json;
// before deleting it reads the destination's targets.json again and never
// deletes what that lists (another publisher may have been at work).
func (u *uploader) prune(ctx context.Context, before map[string]object) (int, error) {
	now := u.opts.Now().UTC().Truncate(time.Second)
	old := state{Unlisted: map[string]time.Time{}}
	data, err := u.st.get(ctx, StateKey, maxMetadata)
	switch {
	case err == nil:
		if err := json.Unmarshal(data, &old); err != nil {
			return 0, fmt.Errorf("%s at the destination: %w (delete it to start the grace periods anew)", StateKey, err)
		}
	case !errors.Is(err, errNotFound):
		return 0, err
	}
	next := state{Unlisted: map[string]time.Time{}}
	var expired []string
	for key := range before {
		if _, listed := u.local.targets[strings.TrimPrefix(key, "targets/")]; listed {
			continue
		}
		since, ok := old.Unlisted[key]
		if !ok {
			since = now
		}
		next.Unlisted[key] = since
		switch {
		case u.opts.Prune && now.Sub(since) >= u.opts.Grace:
			expired = append(expired, key)
		case u.opts.Prune:
			fmt.Fprintf(u.opts.Out, "keep %s: unlisted since %s, prunable from %s\n", key, since.Format(time.RFC3339), since.Add(u.opts.Grace).Format(time.RFC3339))
		}
	}
	slices.Sort(expired)
	deleted := 0
	if len(expired) > 0 {
		live, err := u.liveTargets(ctx)
		if err != nil {
			return 0, err
		}
		for _, key := range expired {
			if live[strings.TrimPrefix(key, "targets/")] {
				fmt.Fprintf(u.opts.Out, "keep %s: the destination's targets.json lists it\n", key)
				continue
			}
			fmt.Fprintf(u.opts.Out, "%sdelete %s (unlisted since %s)\n", u.dry(), key, next.Unlisted[key].Format(time.RFC3339))
			if !u.opts.DryRun {
				if err := u.st.remove(ctx, key); err != nil {
					return deleted, fmt.Errorf("delete %s: %w", key, err)
				}
			}
			delete(next.Unlisted, key)
			deleted++
		}
	}
	if u.opts.DryRun || maps.EqualFunc(old.Unlisted, next.Unlisted, time.Time.Equal) {
		return deleted, nil
	}
	data, err = json.MarshalIndent(next, "", " ")
	if err != nil {
		return deleted, err
	}
	if err := u.st.put(ctx, StateKey, strings.NewReader(string(data)), int64(len(data)), sha256Hex(data), nil); err != nil {
		return deleted, fmt.Errorf("record unlisted targets in %s: %w", StateKey, err)
	}
	return deleted, nil
}

// liveTargets lists the targets of the destination's targets.json.
func (u *uploader) liveTargets(ctx context.Context) (map[string]bool, error) {
	data, err := u.st.get(ctx, "metadata/targets.json", maxMetadata)
	if err != nil {
		return nil, fmt.Errorf("read back metadata/targets.json before pruning: %w", err)
	}
	s, err := parseSigned("the destination's metadata/targets.json", data)
	if err != nil {
		return nil, err
	}
	live := map[string]bool{}
	for name := range s.Signed.Targets {
		live[name] = true
	}
	return live, nil
}
