"""Small shared pieces every domain uses: errors, pagination, money, ids, time, transactions."""
