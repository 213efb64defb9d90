-- ---- The engine: the same for every protocol of RLTOP's shape; the tables above are the
-- schema's. Checks in SPEC.md §4's order, each failure an expert item at its byte. ----

local band, bxor, rshift = bit32.band, bit32.bxor, bit32.rshift

-- CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), a byte at a time from a table.
local CRC_TABLE = {}
for i = 0, 255 do
    local c = i
    for _ = 1, 8 do
        if band(c, 1) == 1 then c = bxor(rshift(c, 1), 0x82F63B78) else c = rshift(c, 1) end
    end
    CRC_TABLE[i] = c
end

-- The CRC-32C of `bytes` (a Lua string) with the 4 bytes from `skip` (1-based) taken as zero.
-- The bytes are taken out of the string a chunk at a time: one call per byte would cost more
-- than the table step itself.
local function crc32c(bytes, skip)
    local crc = 0xFFFFFFFF
    local byte, n = string.byte, #bytes
    local i = 1
    while i <= n do
        local last = math.min(i + 199, n)
        local chunk = { byte(bytes, i, last) }
        for k = 1, #chunk do
            local at = i + k - 1
            local b = (at >= skip and at < skip + 4) and 0 or chunk[k]
            crc = bxor(CRC_TABLE[band(bxor(crc, b), 0xFF)], rshift(crc, 8))
        end
        i = last + 1
    end
    return bxor(crc, 0xFFFFFFFF)
end

-- An unsigned integer of up to 4 bytes, in the protocol's byte order.
local function uint(range)
    if BIG_ENDIAN then return range:uint() end
    return range:le_uint()
end

local function uint64(range)
    if BIG_ENDIAN then return range:uint64() end
    return range:le_uint64()
end

local function add(tree, field, range, value)
    if BIG_ENDIAN then
        if value == nil then return tree:add(field, range) end
        return tree:add(field, range, value)
    end
    if value == nil then return tree:add_le(field, range) end
    return tree:add_le(field, range, value)
end

-- Whether a text field's bytes are valid (SPEC.md §1): printable ASCII, then only padding.
local function text_valid(raw, space)
    local ended = false
    for i = 1, #raw do
        local c = string.byte(raw, i)
        if space then
            if c < 0x20 or c > 0x7E then return false end
        elseif ended then
            if c ~= 0 then return false end
        elseif c == 0 then
            ended = true
        elseif c < 0x20 or c > 0x7E then
            return false
        end
    end
    return true
end

-- The text a field shows: up to its padding, anything unprintable as \xNN.
local function text_of(raw, space)
    local out = {}
    for i = 1, #raw do
        local c = string.byte(raw, i)
        if not space and c == 0 then break end
        if c >= 0x20 and c <= 0x7E then
            out[#out + 1] = string.char(c)
        else
            out[#out + 1] = string.format("\\x%02x", c)
        end
    end
    local s = table.concat(out)
    if space then s = s:gsub(" +$", "") end
    return s
end

-- Per capture: the next sequence number each session should carry, and the gaps found on
-- the first pass (kept, so a packet shows the same whenever it is dissected again); each
-- instrument's exponents from its definition, with where they were learnt.
local next_seq, gaps, exponents = {}, {}, {}

function PROTO.init()
    next_seq, gaps, exponents = {}, {}, {}
end

-- `v` × 10^`e` as a decimal string: `v` an integer (a number, Int64 or UInt64).
local function decimal(v, e)
    local s = tostring(v)
    local sign = ""
    if s:sub(1, 1) == "-" then sign, s = "-", s:sub(2) end
    if e >= 0 then return sign .. s .. string.rep("0", e) end
    local places = -e
    if #s <= places then s = string.rep("0", places - #s + 1) .. s end
    return sign .. s:sub(1, #s - places) .. "." .. s:sub(#s - places + 1)
end

-- The exponents of the instrument of the message at `base`, if a definition seen before it
-- (earlier in the capture) gave them.
local function exponents_of(tvb, pinfo, base, m)
    if m.symbol == nil then return nil end
    local ex = exponents[uint(tvb(base + m.symbol, 4))]
    if ex == nil then return nil end
    if ex.frame < pinfo.number or (ex.frame == pinfo.number and ex.base < base) then return ex end
    return nil
end

-- A valid definition's exponents, learnt on the first pass.
local function learn(tvb, pinfo, base, code)
    if DEFINITION == nil or code ~= DEFINITION.type or pinfo.visited then return end
    local ex = { frame = pinfo.number, base = base }
    for name, off in pairs(DEFINITION.exponents) do ex[name] = tvb(base + off, 1):int() end
    exponents[uint(tvb(base + DEFINITION.symbol, 4))] = ex
end

local function expert(item, which, text)
    item:add_proto_expert_info(which, text)
end

-- Adds one leaf; returns its value (a number or UInt64) and the item.
local function add_leaf(tvb, base, parent, l)
    local range = tvb(base + l.off, l.size)
    if l.kind == "text" then
        local raw = range:raw()
        return raw, add(parent, l.f, range, text_of(raw, l.space))
    elseif l.kind == "time" then
        local v = uint64(range)
        local secs = (v / 1000000000):tonumber()
        local ns = (v % 1000000000):tonumber()
        return v, add(parent, l.f, range, NSTime.new(secs, ns))
    elseif l.size == 8 then
        local v = l.signed and (BIG_ENDIAN and range:int64() or range:le_int64()) or uint64(range)
        return v, add(parent, l.f, range)
    end
    local item = add(parent, l.f, range)
    if l.counts then item:append_text(" (entries of " .. l.counts .. ")") end
    if l.bits then
        for _, bit in ipairs(l.bits) do add(item, bit, range) end
    end
    return uint(range), item
end

-- The first invalid value of a leaf of message `m`, as (expert, text), or nil.
local function leaf_fault(m, l, value)
    if l.kind == "enum" and value ~= nil and l.names[value] == nil then
        return EXPERT.bad_enum, string.format("BadEnum: %s.%s holds %d, which names no variant", m.name, l.path, value)
    elseif l.kind == "count" and value > l.max then
        return EXPERT.bad_count, string.format("BadCount: %s.%s is %d, its array holds %d", m.name, l.path, value, l.max)
    elseif l.kind == "text" and not text_valid(value, l.space) then
        return EXPERT.bad_text, string.format("BadText: %s.%s is not printable ASCII and padding", m.name, l.path)
    end
    return nil
end

-- The message's fields under `sub`, counted arrays to their count and `since` fields from
-- their version on; when `report`, the first invalid one gets the expert item (SPEC.md §4
-- check 8; after a bad checksum only the checksum is reported).
local function add_fields(tvb, pinfo, base, sub, m, version, report)
    local ex = exponents_of(tvb, pinfo, base, m)
    local counts = {}
    for _, c in ipairs(m.counts) do
        counts[c.array] = uint(tvb(base + c.off, c.size))
    end
    local parents, faulted = { [""] = sub }, false
    for _, l in ipairs(m.leaves) do
        local present = l.since <= version and (l.index == nil or l.index < counts[l.array])
        if present then
            local parent = parents[l.parent]
            if parent == nil then
                local p = m.parents[l.parent]
                parent = sub:add(tvb(base + p[1], p[2]), l.parent)
                parents[l.parent] = parent
            end
            local value, item = add_leaf(tvb, base, parent, l)
            if l.scale and ex and ex[l.scale] then item:append_text(" (" .. decimal(value, ex[l.scale]) .. ")") end
            if report and not faulted then
                local which, text = leaf_fault(m, l, value)
                if which then
                    expert(item, which, text)
                    faulted = true
                end
            end
        end
    end
    return faulted
end

-- One message at `base`: the checks of SPEC.md §4 in order. Returns the next message's
-- start, or nil when a framing error ends the datagram.
local function dissect_message(tvb, pinfo, tree, base, info)
    local left = tvb:len() - base
    if left < HEADER_SIZE then
        local item = tree:add(PROTO, tvb(base, left), "Truncated message")
        expert(item, EXPERT.truncated, string.format("Truncated: %d bytes remain, a header takes %d", left, HEADER_SIZE))
        info[#info + 1] = "Truncated"
        return nil
    end
    local code = tvb(base + AT.type, 1):uint()
    local m = MESSAGES[code]
    local length = uint(tvb(base + AT.length, 2))
    local shown = math.min(math.max(length, HEADER_SIZE), left)
    local sub = tree:add(PROTO, tvb(base, shown), (m and m.name or string.format("Unknown type 0x%02x", code)))
    local version = tvb(base + AT.version, 1):uint()
    if uint(tvb(base + AT.magic, 4)) ~= MAGIC then
        expert(add(sub, HEADER_FIELDS.magic, tvb(base + AT.magic, 4)), EXPERT.bad_magic,
            string.format("BadMagic: expected 0x%08x", MAGIC))
        info[#info + 1] = "BadMagic"
        return nil
    end
    if (m and length ~= m.size) or (not m and length < HEADER_SIZE) then
        local want = m and string.format("%s is %d bytes", m.name, m.size) or string.format("at least the %d-byte header", HEADER_SIZE)
        expert(add(sub, HEADER_FIELDS.length, tvb(base + AT.length, 2)), EXPERT.bad_length,
            string.format("BadLength: %d, but %s", length, want))
        info[#info + 1] = "BadLength"
        return nil
    end
    if left < length then
        expert(sub, EXPERT.truncated, string.format("Truncated: the message takes %d bytes, %d remain", length, left))
        info[#info + 1] = "Truncated"
        return nil
    end
    local header = HEADER_LAYOUT
    local hsub = sub:add(tvb(base, HEADER_SIZE), "Header")
    local items = {}
    for _, l in ipairs(header) do
        local _, item = add_leaf(tvb, base, hsub, l)
        items[l.role or ""] = item
    end
    local session = tostring(uint64(tvb(base + AT.session, 8)))
    local seq = uint64(tvb(base + AT.sequence, 8))
    sub:append_text(string.format(", session %s, seq %s", session, tostring(seq)))
    local key = pinfo.number .. ":" .. base
    if not pinfo.visited then
        local want = next_seq[session]
        if want ~= nil and want ~= seq then gaps[key] = want end
        next_seq[session] = seq + 1
    end
    if gaps[key] ~= nil then
        expert(items.sequence, EXPERT.sequence_gap, string.format("Sequence gap: expected %s, got %s", tostring(gaps[key]), tostring(seq)))
    end
    if version < MIN_VERSION then
        expert(items.version, EXPERT.unsupported_version, string.format("UnsupportedVersion: %d, the oldest decoded is %d", version, MIN_VERSION))
        info[#info + 1] = "UnsupportedVersion"
        return base + length
    end
    if not m then
        expert(items.type, EXPERT.unknown_type, string.format("UnknownType: 0x%02x", code))
        info[#info + 1] = string.format("0x%02x", code)
        return base + length
    end
    info[#info + 1] = m.name
    local stored = uint(tvb(base + AT.checksum, 4))
    local computed = crc32c(tvb(base, length):raw(), AT.checksum + 1)
    if stored ~= computed then
        expert(items.checksum, EXPERT.bad_checksum, string.format("BadChecksum: stored 0x%08x, computed 0x%08x", stored, computed))
        add_fields(tvb, pinfo, base, sub, m, version, false)
        return base + length
    end
    if not add_fields(tvb, pinfo, base, sub, m, version, true) then learn(tvb, pinfo, base, code) end
    return base + length
end

function PROTO.dissector(tvb, pinfo, tree)
    pinfo.cols.protocol:set(PROTO_NAME)
    local root = tree:add(PROTO, tvb())
    local info, base, first, last = {}, 0, nil, nil
    while base ~= nil and base < tvb:len() do
        if tvb:len() - base >= HEADER_SIZE then
            local seq = uint64(tvb(base + AT.sequence, 8))
            first = first or seq
            last = seq
        end
        base = dissect_message(tvb, pinfo, root, base, info)
    end
    local text = table.concat(info, ", ")
    if first ~= nil and first == last then
        text = text .. string.format(" (seq %s)", tostring(first))
    elseif first ~= nil then
        text = text .. string.format(" (seq %s–%s)", tostring(first), tostring(last))
    end
    pinfo.cols.info:set(text)
    return tvb:len()
end

-- The heuristic: the first message's magic, version, length and checksum must all hold.
local function heuristic(tvb, pinfo, tree)
    if tvb:len() < HEADER_SIZE or uint(tvb(AT.magic, 4)) ~= MAGIC then return false end
    if tvb(AT.version, 1):uint() < MIN_VERSION then return false end
    local m = MESSAGES[tvb(AT.type, 1):uint()]
    local length = uint(tvb(AT.length, 2))
    if m == nil or length ~= m.size or length > tvb:len() then return false end
    if uint(tvb(AT.checksum, 4)) ~= crc32c(tvb(0, length):raw(), AT.checksum + 1) then return false end
    PROTO.dissector(tvb, pinfo, tree)
    return true
end

PROTO:register_heuristic("udp", heuristic)

local udp_port = DissectorTable.get("udp.port")
udp_port:add_for_decode_as(PROTO)
PROTO.prefs.ports = Pref.range("UDP ports", DEFAULT_PORTS, "UDP ports dissected as " .. PROTO_NAME .. " without the heuristic", 65535)
local registered = ""

local function apply_ports()
    if registered ~= "" then udp_port:remove(registered, PROTO) end
    registered = PROTO.prefs.ports
    if registered ~= "" then udp_port:add(registered, PROTO) end
end
PROTO.prefs_changed = apply_ports
apply_ports()
