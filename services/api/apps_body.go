package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"strings"

	"github.com/drover/drover/pkg/marathon"
	"github.com/drover/drover/services/api/apierr"
)

// appBody is an app definition as a request sent it: decoded, and as raw
// top-level fields, for merging into the app it updates.
type appBody struct {
	app    marathon.App
	fields map[string]json.RawMessage
}

// decodeAppBody decodes one app definition. JSON that is malformed, not an
// object, or of the wrong types is an *InvalidJSONError (400).
func decodeAppBody(data []byte) (*appBody, error) {
	var b appBody
	if err := decodeJSON(data, &b.app); err != nil {
		return nil, err
	}
	if err := decodeJSON(data, &b.fields); err != nil {
		return nil, err
	}
	return &b, nil
}

// decodeAppList decodes the array body of PUT and PATCH /v2/apps.
func decodeAppList(data []byte) ([]*appBody, error) {
	var raws []json.RawMessage
	if err := decodeJSON(data, &raws); err != nil {
		return nil, err
	}
	out := make([]*appBody, 0, len(raws))
	for i, raw := range raws {
		b, err := decodeAppBody(raw)
		if err != nil {
			var bad *apierr.InvalidJSONError
			if errors.As(err, &bad) {
				for j := range bad.Details {
					bad.Details[j].Path = fmt.Sprintf("/%d%s", i, strings.TrimSuffix(bad.Details[j].Path, "/"))
				}
			}
			return nil, err
		}
		out = append(out, b)
	}
	return out, nil
}

// has reports whether the body set a top-level field (null counts as set).
func (b *appBody) has(field string) bool { _, ok := b.fields[field]; return ok }

// rollbackVersion is the version a body of only id and version rolls back
// to; "" when it is no rollback. A version with other fields is a 422.
func (b *appBody) rollbackVersion() (string, error) {
	if !b.has("version") {
		return "", nil
	}
	for k := range b.fields {
		if k != "id" && k != "version" {
			return "", &apierr.ValidationError{Details: []marathon.FieldError{{Path: "/version", Errors: []string{msgVersionAlone}}}}
		}
	}
	var v string
	if err := json.Unmarshal(b.fields["version"], &v); err != nil || v == "" {
		return "", &apierr.InvalidJSONError{Details: []marathon.FieldError{{Path: "/version", Errors: []string{"error.expected.jsstring"}}}}
	}
	return v, nil
}

// bodyID is the normalised id a body names, "" when it names none.
func (b *appBody) bodyID() (string, error) {
	if !b.has("id") || b.app.ID == "" {
		return "", nil
	}
	return normalizeAppID(b.app.ID)
}

// normalizeAppID resolves an id against the root; a bad one is a 422 on /id.
func normalizeAppID(raw string) (string, error) {
	id, err := marathon.NormalizeID(raw, "/")
	var ie *marathon.IDError
	if errors.As(err, &ie) {
		return "", &apierr.ValidationError{Details: []marathon.FieldError{{Path: "/id", Errors: []string{ie.Reason}}}}
	}
	return id, err
}

// finishApp completes a definition for writing: resolves its
// dependencies against its group, fills Marathon's defaults, and
// validates it (a 422 with Marathon's details when invalid).
func finishApp(app *marathon.App, id string) error {
	app.ID = id
	var details []marathon.FieldError
	for i, dep := range app.Dependencies {
		norm, err := marathon.NormalizeID(dep, marathon.ParentID(id))
		var ie *marathon.IDError
		if errors.As(err, &ie) {
			details = append(details, marathon.FieldError{Path: fmt.Sprintf("/dependencies(%d)", i), Errors: []string{ie.Reason}})
			continue
		}
		app.Dependencies[i] = norm
	}
	if len(details) > 0 {
		return &apierr.ValidationError{Details: details}
	}
	if errs := marathon.ValidateSizes(app); errs != nil {
		return &apierr.ValidationError{Details: errs}
	}
	marathon.ApplyDefaults(app)
	if errs := marathon.Validate(app); errs != nil {
		return &apierr.ValidationError{Details: errs}
	}
	return nil
}

// merged is the app that a partial update makes of prev: the body's
// top-level fields replace prev's, the others stay.
func merged(prev *marathon.App, b *appBody, id string) (*marathon.App, error) {
	base, err := json.Marshal(prev)
	if err != nil {
		return nil, err
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(base, &fields); err != nil {
		return nil, err
	}
	// Fields that stand for one another: setting one drops the other.
	for k, alt := range map[string]string{"cmd": "args", "args": "cmd", "ports": "portDefinitions", "portDefinitions": "ports"} {
		if v, ok := b.fields[k]; ok && string(v) != "null" {
			delete(fields, alt)
		}
	}
	for k, v := range b.fields {
		switch k {
		case "id", "version", "versionInfo":
			continue
		}
		fields[k] = v
	}
	data, err := json.Marshal(fields)
	if err != nil {
		return nil, err
	}
	var app marathon.App
	if err := decodeJSON(data, &app); err != nil {
		return nil, err
	}
	return &app, finishApp(&app, id)
}

// fresh is the app a full replacement (or a creation) makes of a body.
func fresh(b *appBody, id string) (*marathon.App, error) {
	app := b.app
	// The body's slices and maps are shared by retries: copy what
	// finishApp rewrites in place.
	app.Dependencies = append([]string(nil), b.app.Dependencies...)
	app.Labels = maps.Clone(b.app.Labels)
	app.Version, app.VersionInfo = "", nil
	return &app, finishApp(&app, id)
}
