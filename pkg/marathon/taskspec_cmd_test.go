package marathon

import (
	"reflect"
	"testing"
)

func TestResolveTaskHostCommand(t *testing.T) {
	spec, err := ResolveTask(appJSON(t, `{"id":"/a","cmd":"./run","user":" app ",
		"fetch":[{"uri":"http://x/a.tgz"},{"uri":"http://x/run","executable":true,"extract":false,"outputFile":"r"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if !spec.HostCommand() || !spec.Access.HostCommand || spec.User != "app" {
		t.Errorf("host command %v, access %v, user %q", spec.HostCommand(), spec.Access.HostCommand, spec.User)
	}
	want := []FetchURI{{URI: "http://x/a.tgz", Extract: true}, {URI: "http://x/run", Executable: true, OutputFile: "r"}}
	if !reflect.DeepEqual(spec.Fetch, want) {
		t.Errorf("fetch %+v, want %+v", spec.Fetch, want)
	}
	if why := spec.Access.HostCommandViolation(false); why == "" {
		t.Error("a host command passes an agent that allows none")
	}
	if why := spec.Access.HostCommandViolation(true); why != "" {
		t.Errorf("allowed agent refuses: %s", why)
	}

	uris, err := ResolveTask(appJSON(t, `{"id":"/a","cmd":"x","uris":["http://x/a.tar.gz"],"container":{"type":"MESOS"}}`))
	if err != nil {
		t.Fatal(err)
	}
	if !uris.HostCommand() || !reflect.DeepEqual(uris.Fetch, []FetchURI{{URI: "http://x/a.tar.gz", Extract: true}}) {
		t.Errorf("uris: host command %v, fetch %+v", uris.HostCommand(), uris.Fetch)
	}

	docker, err := ResolveTask(appJSON(t, `{"id":"/a","cmd":"x","container":{"docker":{"image":"httpd"}}}`))
	if err != nil {
		t.Fatal(err)
	}
	if docker.HostCommand() || docker.Access.HostCommand || docker.Access.HostCommandViolation(false) != "" {
		t.Errorf("a docker app is a host command: %+v", docker.Access)
	}
}
