package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"reflect"
	"strings"

	"github.com/drover/drover/pkg/marathon"
	"github.com/drover/drover/services/api/apierr"
	"github.com/labstack/echo/v4"
)

// writeJSON answers with v as JSON, without escaping '<', '>' and '&' (as Marathon).
func writeJSON(c echo.Context, status int, v any) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("api: encode response: %w", err)
	}
	return c.Blob(status, echo.MIMEApplicationJSON, bytes.TrimSuffix(buf.Bytes(), []byte("\n")))
}

// readBody reads the request body, refusing one over limit bytes with an
// *http.MaxBytesError (413).
func readBody(c echo.Context, limit int64) ([]byte, error) {
	r := c.Request()
	if r.ContentLength > limit {
		return nil, &http.MaxBytesError{Limit: limit}
	}
	body, err := io.ReadAll(http.MaxBytesReader(c.Response().Writer, r.Body, limit))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return nil, err
		}
		return nil, echo.NewHTTPError(http.StatusBadRequest, "Could not read the request body").SetInternal(err)
	}
	if len(bytes.TrimSpace(body)) > 0 && !jsonMediaType(r.Header.Get(echo.HeaderContentType)) {
		return nil, echo.NewHTTPError(http.StatusUnsupportedMediaType, msgUnsupportedMediaType)
	}
	return body, nil
}

// readJSON reads a JSON request body of at most limit bytes into v.
func readJSON(c echo.Context, limit int64, v any) error {
	data, err := readBody(c, limit)
	if err != nil {
		return err
	}
	return decodeJSON(data, v)
}

// msgUnsupportedMediaType is Marathon's (Jersey's) message for a body
// that is not JSON.
const msgUnsupportedMediaType = "HTTP 415 Unsupported Media Type"

// jsonMediaType reports whether a Content-Type is JSON: application/json
// (any parameters, such as charset) or a +json type. Marathon answers 415
// to anything else, and so does Drover, to a missing Content-Type too:
// `curl -d` sends application/x-www-form-urlencoded unless told otherwise.
func jsonMediaType(ct string) bool {
	mt, _, err := mime.ParseMediaType(ct)
	return err == nil && (mt == "application/json" || strings.HasSuffix(mt, "+json"))
}

// decodeJSON decodes a request body into v. Malformed JSON and values of
// the wrong type are an *InvalidJSONError, with Marathon's details: the
// path of the value and "error.expected.jsstring" and the like.
func decodeJSON(body []byte, v any) error {
	if err := json.Unmarshal(body, v); err != nil {
		return &apierr.InvalidJSONError{Details: jsonDetails(err)}
	}
	return nil
}

func jsonDetails(err error) []marathon.FieldError {
	var (
		typeErr   *json.UnmarshalTypeError
		syntaxErr *json.SyntaxError
	)
	switch {
	case errors.As(err, &typeErr):
		path := "/" + strings.ReplaceAll(typeErr.Field, ".", "/")
		return []marathon.FieldError{{Path: path, Errors: []string{expected(typeErr.Type)}}}
	case errors.As(err, &syntaxErr):
		msg := fmt.Sprintf("%s at offset %d", syntaxErr.Error(), syntaxErr.Offset)
		return []marathon.FieldError{{Path: "/", Errors: []string{msg}}}
	default:
		return []marathon.FieldError{{Path: "/", Errors: []string{err.Error()}}}
	}
}

// expected is Play JSON's error for a value that is not of type t.
func expected(t reflect.Type) string {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil {
		return "error.expected.jsvalue"
	}
	switch t.Kind() {
	case reflect.String:
		return "error.expected.jsstring"
	case reflect.Bool:
		return "error.expected.jsboolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64:
		return "error.expected.jsnumber"
	case reflect.Slice, reflect.Array:
		return "error.expected.jsarray"
	case reflect.Map, reflect.Struct:
		return "error.expected.jsobject"
	}
	return "error.expected.jsvalue"
}
