package agent

import (
	"reflect"
	"testing"

	"github.com/drover/drover/pkg/events"
)

func TestParseAttributes(t *testing.T) {
	tests := []struct {
		in      string
		want    map[string]string
		wantErr bool
	}{
		{in: "", want: map[string]string{}},
		{in: "rack=r1", want: map[string]string{"rack": "r1"}},
		{in: "rack=r1, zone = a ,empty=", want: map[string]string{"rack": "r1", "zone": "a", "empty": ""}},
		{in: "rack", wantErr: true},
		{in: "=r1", wantErr: true},
		{in: "rack=r1,", wantErr: true},
		{in: "rack=r1,rack=r2", wantErr: true},
	}
	for _, tt := range tests {
		got, err := ParseAttributes(tt.in)
		if (err != nil) != tt.wantErr {
			t.Errorf("ParseAttributes(%q) error = %v, wantErr %v", tt.in, err, tt.wantErr)
			continue
		}
		if !tt.wantErr && !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ParseAttributes(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestParseResources(t *testing.T) {
	tests := []struct {
		in      string
		want    events.Resources
		wantErr bool
	}{
		{in: "", want: events.Resources{}},
		{in: "cpus=4,mem=8192,disk=10000,ports=[31000-32000]", want: events.Resources{
			Cpus: 4, Mem: 8192, Disk: 10000, Ports: []events.PortRange{{Begin: 31000, End: 32000}},
		}},
		{in: "ports=[31000-31100, 32000-32100],cpus=0.5", want: events.Resources{
			Cpus: 0.5, Ports: []events.PortRange{{Begin: 31000, End: 31100}, {Begin: 32000, End: 32100}},
		}},
		{in: "ports=[80,443,8000-8080]", want: events.Resources{
			Ports: []events.PortRange{{Begin: 80, End: 80}, {Begin: 443, End: 443}, {Begin: 8000, End: 8080}},
		}},
		{in: "cpus=four", wantErr: true},
		{in: "cpus=-1", wantErr: true},
		{in: "cpus=NaN", wantErr: true},
		{in: "mem=Inf", wantErr: true},
		{in: "gpus=1", wantErr: true},
		{in: "cpus", wantErr: true},
		{in: "cpus=1,cpus=2", wantErr: true},
		{in: "ports=31000-32000", wantErr: true},
		{in: "ports=[31000-32000", wantErr: true},
		{in: "ports=[]", wantErr: true},
		{in: "ports=[32000-31000]", wantErr: true},
		{in: "ports=[0-10]", wantErr: true},
		{in: "ports=[65000-70000]", wantErr: true},
		{in: "ports=[a-b]", wantErr: true},
		{in: "ports=[31000-31100,31050-31200]", wantErr: true},
	}
	for _, tt := range tests {
		got, err := ParseResources(tt.in)
		if (err != nil) != tt.wantErr {
			t.Errorf("ParseResources(%q) error = %v, wantErr %v", tt.in, err, tt.wantErr)
			continue
		}
		if !tt.wantErr && !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ParseResources(%q) = %+v, want %+v", tt.in, got, tt.want)
		}
	}
}
