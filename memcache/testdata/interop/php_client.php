<?php
// Reads or writes values through php-memcached, for the interop tests of
// package memcache (interop_clients_test.go).
//
// Reads a plan as JSON on stdin and prints the outcome as JSON on stdout:
//
//   {"servers": ["127.0.0.1:port", ...], "prefix": "svc:v1:",
//    "serializer": "json" | "msgpack" | "raw" (json_encode'd by hand, stored as a string),
//    "compression": "none" | "zlib" | "fastlz", "op": "write" | "read",
//    "settings": "right" | "prefix_without_hash" | "no_libketama" | "consistent_default_hash",
//    "items": {"key": value, ...}}
//
// For read, each key gets {"ok": bool, "code": result code, "type": PHP type,
// "value": ...}: ok means Memcached::get returned with RES_SUCCESS.
$plan = json_decode(stream_get_contents(STDIN), true, 512, JSON_THROW_ON_ERROR);
$m = new Memcached();
$settings = $plan['settings'] ?? 'right';
switch ($settings) {
case 'right':
case 'prefix_without_hash':
    // Distribution consistent, MD5 keys, weighted ketama points.
    $m->setOption(Memcached::OPT_LIBKETAMA_COMPATIBLE, true);
    break;
case 'consistent_default_hash':
    $m->setOption(Memcached::OPT_DISTRIBUTION, Memcached::DISTRIBUTION_CONSISTENT);
    break;
case 'no_libketama':
    break; // php-memcached's default: modula over the server list
}
$prefix = $plan['prefix'] ?? '';
if ($prefix !== '') {
    $m->setOption(Memcached::OPT_PREFIX_KEY, $prefix);
    // libmemcached hashes the key without its prefix unless told.
    $m->setOption(Memcached::OPT_HASH_WITH_PREFIX_KEY, $settings !== 'prefix_without_hash');
}
$ser = $plan['serializer'];
$m->setOption(Memcached::OPT_SERIALIZER, $ser === 'msgpack' ? Memcached::SERIALIZER_MSGPACK : Memcached::SERIALIZER_JSON_ARRAY);
$comp = $plan['compression'] ?? 'none';
$m->setOption(Memcached::OPT_COMPRESSION, $comp !== 'none');
if ($comp === 'zlib') {
    $m->setOption(Memcached::OPT_COMPRESSION_TYPE, Memcached::COMPRESSION_ZLIB);
} elseif ($comp === 'fastlz') {
    $m->setOption(Memcached::OPT_COMPRESSION_TYPE, Memcached::COMPRESSION_FASTLZ);
}
$servers = [];
foreach ($plan['servers'] as $s) {
    [$host, $port] = explode(':', $s);
    $servers[] = [$host, (int)$port, 1];
}
$m->addServers($servers);
$out = [];
foreach ($plan['items'] as $key => $v) {
    $key = (string)$key;
    if ($plan['op'] === 'write') {
        $ok = $m->set($key, $ser === 'raw' ? json_encode($v) : $v);
        $out[$key] = ['ok' => $ok, 'code' => $m->getResultCode()];
        continue;
    }
    $got = @$m->get($key);
    $code = $m->getResultCode();
    $r = ['ok' => $code === Memcached::RES_SUCCESS, 'code' => $code, 'type' => gettype($got)];
    if ($ser === 'raw' && is_string($got)) {
        $got = json_decode($got, true);
    }
    $r['value'] = is_float($got) && !is_finite($got) ? null : $got;
    $out[$key] = $r;
}
echo json_encode($out, JSON_PRESERVE_ZERO_FRACTION | JSON_INVALID_UTF8_SUBSTITUTE);
