package main

import (
	"context"
	"net"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
)

// dialTimeout bounds the blocking dial, as the kubelet does when it connects to
// a device plugin.
const dialTimeout = 10 * time.Second

// unixConn is a client connection to a gRPC server on a unix socket, with a
// count of the transport connections grpc-go opened for it. grpc-go reconnects
// silently, so the count is how a caller can tell whether the first HTTP/2
// connection survived.
type unixConn struct {
	*grpc.ClientConn
	dials int64
}

// Dials returns how many times grpc-go has opened the socket so far.
func (c *unixConn) Dials() int64 {
	return atomic.LoadInt64(&c.dials)
}

// dialUnix connects to a gRPC server on a unix socket the way the kubelet's
// device manager does: no transport security, a context dialer that opens the
// socket, and a blocking dial bounded by dialTimeout.
//
// The target is the bare socket path, which grpc-go resolves with its
// passthrough resolver. grpc-go 1.33 would then use the path itself as the
// :authority, so the authority is set explicitly (recent kubelets send
// "localhost"). An empty authority keeps grpc-go's own choice.
func dialUnix(socketPath, authority string, extra ...grpc.DialOption) (*unixConn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), dialTimeout)
	defer cancel()

	uc := &unixConn{}
	opts := []grpc.DialOption{
		grpc.WithInsecure(),
		grpc.WithBlock(),
		// Only changes the error of a failed dial: it names the last
		// connection error, not just the expired deadline.
		grpc.WithReturnConnectionError(),
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) {
			atomic.AddInt64(&uc.dials, 1)
			var d net.Dialer
			return d.DialContext(ctx, "unix", socketPath)
		}),
	}
	if authority != "" {
		opts = append(opts, grpc.WithAuthority(authority))
	}
	opts = append(opts, extra...)
	conn, err := grpc.DialContext(ctx, socketPath, opts...)
	if err != nil {
		return nil, err
	}
	uc.ClientConn = conn
	return uc, nil
}
