-- wrk script: adds alone, POST /api/v1/carts/{id}/items {"product_id": <a product already in the cart>, "quantity": 1},
-- with a new Idempotency-Key on every request when the second argument is "keyed" (bench/run.py).

local lines, keyed, prefix, sent = {}, false, "", 0

local thread_number = 0
function setup(thread)
  thread_number = thread_number + 1
  thread:set("seed", thread_number * 7919)
end

function init(args)
  for line in io.lines(args[1]) do
    if #line > 0 then lines[#lines + 1] = line end
  end
  keyed = args[2] == "keyed"
  math.randomseed(os.time() + (seed or 0))
  prefix = string.format("bench-%08x-%d-", math.random(0, 0x7fffffff), seed or 0)
end

function request()
  local cart, product = lines[math.random(#lines)]:match("(%S+) (%S+)")
  local headers = { ["Content-Type"] = "application/json" }
  if keyed then
    sent = sent + 1
    headers["Idempotency-Key"] = prefix .. sent
  end
  local body = '{"product_id": "' .. product .. '", "quantity": 1}'
  return wrk.format("POST", "/api/v1/carts/" .. cart .. "/items", headers, body)
end
