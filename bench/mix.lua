-- wrk script for the benchmark mix (bench/run.py writes the data files):
--   70 % GET /api/v1/carts/{id}
--   18 % POST /api/v1/carts/{id}/items  {"product_id": <a product already in the cart>, "quantity": 1}
--    2 % PUT  /api/v1/carts/{id}/items/{product_id}  {"quantity": 1..3}
--   10 % GET  one of the first five pages of /api/v1/products?limit=50 (real cursors)

local lines, pages = {}, {}

local function read(path, into)
  for line in io.lines(path) do
    if #line > 0 then into[#into + 1] = line end
  end
end

local thread_number = 0
function setup(thread)
  thread_number = thread_number + 1
  thread:set("seed", thread_number * 7919)
end

function init(args)
  read(args[1], lines)   -- "cart_id product_id" per line
  read(args[2], pages)   -- one product page path per line
  math.randomseed(os.time() + (seed or 0))
end

local json = { ["Content-Type"] = "application/json" }

function request()
  local roll = math.random(100)
  local line = lines[math.random(#lines)]
  local cart, product = line:match("(%S+) (%S+)")
  if roll <= 70 then
    return wrk.format("GET", "/api/v1/carts/" .. cart)
  elseif roll <= 88 then
    local body = '{"product_id": "' .. product .. '", "quantity": 1}'
    return wrk.format("POST", "/api/v1/carts/" .. cart .. "/items", json, body)
  elseif roll <= 90 then
    local body = '{"quantity": ' .. math.random(3) .. '}'
    return wrk.format("PUT", "/api/v1/carts/" .. cart .. "/items/" .. product, json, body)
  else
    return wrk.format("GET", pages[math.random(#pages)])
  end
end
