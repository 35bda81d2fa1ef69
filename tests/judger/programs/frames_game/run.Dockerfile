FROM judger-test/busybox:1
CMD ["sh", "/app/main.sh"]
