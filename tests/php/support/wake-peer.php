#!/usr/bin/env php
<?php
/**
 * The daemon's side of one wake-up, for WakeTest: listens on a free loopback port, prints it,
 * takes one connection, writes what it received to FILE and, in mode "answer", replies
 * 202 Accepted as the daemon's API does; in mode "silent" it never replies.
 *
 *   wake-peer.php FILE answer|silent
 */
[, $file, $mode] = $argv;
$server = stream_socket_server('tcp://127.0.0.1:0', $errno, $error);
if ($server === false) {
    fwrite(STDERR, "wake-peer: $error\n");
    exit(1);
}
echo parse_url('tcp://' . stream_socket_get_name($server, false), PHP_URL_PORT), "\n";
fflush(STDOUT);
$client = @stream_socket_accept($server, 30);
if ($client === false) {
    exit(2);
}
$request = '';
while (!str_contains($request, "\r\n\r\n") && ($chunk = fread($client, 4096)) !== false && $chunk !== '') {
    $request .= $chunk;
}
file_put_contents($file, $request);
if ($mode === 'answer') {
    fwrite($client, "HTTP/1.1 202 Accepted\r\nContent-Type: application/json\r\nContent-Length: 15\r\n\r\n{\"status\":\"ok\"}");
} else {
    // Hold the connection until the client gives up.
    while (($chunk = fread($client, 4096)) !== false && $chunk !== '') {
    }
}
fclose($client);
