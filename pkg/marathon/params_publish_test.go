package marathon

import "testing"

func TestParsePublish(t *testing.T) {
	tests := []struct {
		in      string
		want    PortPublish
		wantErr bool
	}{
		{in: "80", want: PortPublish{ContainerPort: 80, ContainerPortEnd: 80, Protocol: "tcp"}},
		{in: "80:8080", want: PortPublish{HostPort: 80, HostPortEnd: 80, ContainerPort: 8080, ContainerPortEnd: 8080, Protocol: "tcp"}},
		{in: "127.0.0.11:80:80/udp", want: PortPublish{HostIP: "127.0.0.11", HostPort: 80, HostPortEnd: 80, ContainerPort: 80, ContainerPortEnd: 80, Protocol: "udp"}},
		{in: "10.0.0.1::53/udp", want: PortPublish{HostIP: "10.0.0.1", ContainerPort: 53, ContainerPortEnd: 53, Protocol: "udp"}},
		{in: "[::1]:80:80", want: PortPublish{HostIP: "::1", HostPort: 80, HostPortEnd: 80, ContainerPort: 80, ContainerPortEnd: 80, Protocol: "tcp"}},
		{in: "8000-8002:9000-9002", want: PortPublish{HostPort: 8000, HostPortEnd: 8002, ContainerPort: 9000, ContainerPortEnd: 9002, Protocol: "tcp"}},
		{in: "8000-8010:80", want: PortPublish{HostPort: 8000, HostPortEnd: 8010, ContainerPort: 80, ContainerPortEnd: 80, Protocol: "tcp"}},
		{in: "9000-9002", want: PortPublish{ContainerPort: 9000, ContainerPortEnd: 9002, Protocol: "tcp"}},
		{in: "80/sctp", want: PortPublish{ContainerPort: 80, ContainerPortEnd: 80, Protocol: "sctp"}},
		{in: "", wantErr: true},
		{in: "80:", wantErr: true},
		{in: "0", wantErr: true},
		{in: "70000", wantErr: true},
		{in: "http", wantErr: true},
		{in: "80/icmp", wantErr: true},
		{in: "nope:80:80", wantErr: true},
		{in: "1:2:3:4", wantErr: true},
		{in: "[::1:80:80", wantErr: true},
		{in: "[::1]:80", wantErr: true},
		{in: "8000-8001:9000-9002", wantErr: true},
		{in: "9002-9000", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParsePublish(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("ParsePublish(%q) error = %v, wantErr %v", tt.in, err, tt.wantErr)
			}
			if !tt.wantErr && got != tt.want {
				t.Errorf("ParsePublish(%q) = %+v, want %+v", tt.in, got, tt.want)
			}
		})
	}
}
